"""The SMART Scheduling Links publication, mounted at /api/v1/smart-scheduling/."""

from django.urls import path

from vaxbook.centres import smart_views

urlpatterns = [
    path("$bulk-publish", smart_views.manifest, name="smart_scheduling_manifest"),
    path("locations.ndjson", smart_views.locations, name="smart_scheduling_locations"),
    path("schedules.ndjson", smart_views.schedules, name="smart_scheduling_schedules"),
    path("slots.ndjson", smart_views.slots, name="smart_scheduling_slots"),
]
