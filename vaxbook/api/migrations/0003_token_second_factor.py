from django.db import migrations, models
from django.db.models import Q


def revoke_staff_tokens(apps, schema_editor):
    """Tokens issued before this field existed do not say whether a code was checked: the
    staff among their holders sign in again (with their code), citizens keep theirs."""
    ApiToken = apps.get_model("api", "ApiToken")
    StaffMembership = apps.get_model("accounts", "StaffMembership")
    staff = StaffMembership.objects.values("user_id")
    ApiToken.objects.filter(Q(user__is_superuser=True) | Q(user_id__in=staff)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_fewer_indexes"),
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="second_factor",
            field=models.BooleanField(default=False, verbose_name="issued with the second factor"),
        ),
        migrations.RunPython(revoke_staff_tokens, migrations.RunPython.noop),
    ]
