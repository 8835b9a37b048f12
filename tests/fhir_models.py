"""Validation of our FHIR resources by an independent implementation: the models of
fhir.resources, generated from the FHIR specification's own structure definitions.

fhir.resources ships R5, R4B and STU3 models, not R4 (4.0.1). R4B is R4 with a few
additions and changed no element of the resources we export (Patient, Immunization,
Location, Schedule, Slot, Appointment, Bundle), so its models check what we write: unknown
elements, a wrong type or cardinality, an invalid date or code are all refused."""

from typing import Any

from fhir.resources.R4B import get_fhir_model_class


def assert_valid_fhir(resource: dict[str, Any]) -> None:
    """Raises pydantic's ValidationError, naming the element, if `resource` is not valid."""
    model = get_fhir_model_class(resource["resourceType"])
    model.model_validate(resource)
