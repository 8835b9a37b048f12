"""The audit log stays append-only on PostgreSQL, with one exception: an UPDATE that erases
the client address (sets it to NULL) and changes nothing else, which the retention rules
make once the address is past its use (vaxbook.audit.models, vaxbook.accounts.retention).
Every other UPDATE, and every DELETE, is still refused."""

from django.db import migrations

ALLOW_ADDRESS_ERASURE = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- The row as JSON without its address: equal means nothing but the address changed.
    IF TG_OP = 'UPDATE' AND NEW.client_address IS NULL
       AND to_jsonb(NEW) - 'client_address' = to_jsonb(OLD) - 'client_address' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""


def allow_address_erasure(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # No parameters: the % in the PL/pgSQL message is not a placeholder.
        schema_editor.execute(ALLOW_ADDRESS_ERASURE, params=None)


def append_only(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_alter_auditevent_action")]

    operations = [migrations.RunPython(allow_address_erasure, append_only)]
