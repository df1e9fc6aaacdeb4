"""Whose a printed document is: the patient, the clinic, the clinician and the dates.

The PDFs name their owner on every page (``backstory.explain.render_pdf``). The clinic's
contact details are what the clinic has recorded; until a clinic records a phone number
the leaflet names the clinic and asks the patient to contact it the usual way.
"""

from __future__ import annotations

import datetime as dt

from backstory.explain import ClinicContact, DocumentOwner
from backstory.storage import Connection, sharing
from backstory.storage.accounts import clinic_name
from backstory.storage.records import AssessmentRecord, Patient
from backstory.storage.users import User


def owned_assessment(
    conn: Connection, user: User, assessment_id: str
) -> tuple[Patient, AssessmentRecord, ClinicContact]:
    """An assessment read for a document (audited as viewed), its patient and clinic."""
    patient, record, _released = sharing.view_assessment(conn, user, assessment_id, "report.view")
    return patient, record, ClinicContact(clinic_name(conn, user.clinic_id))


def document_owner(
    patient: Patient,
    record: AssessmentRecord,
    clinic: ClinicContact,
    clinician: str,
    today: dt.date,
) -> DocumentOwner:
    return DocumentOwner(
        patient_reference=patient.reference,
        clinic=clinic,
        clinician=clinician,
        on=record.assessment.assessed_on,
        printed=today,
    )
