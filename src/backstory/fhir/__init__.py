"""FHIR R4 adapter: Questionnaires from the contract, QuestionnaireResponse import, Bundle export.

An outer layer: it reads the contract, the knowledge and the engine's reports, and nothing in
the inner layers reads it. Everything it emits is FHIR R4-shaped JSON (plain dicts), checked
offline with the fhir.resources R4B models; see docs/fhir.md::

    from backstory.fhir import questionnaire, response_to_assessment, export_bundle
    questionnaire("startback")             # a Questionnaire with weights and live totals
    response_to_assessment(qr_json)        # the contract's assessment JSON, or AssessmentError
    export_bundle(assessment_json)         # a collection Bundle of the assessed report
"""

from backstory.fhir.bundle import PatientText, export_bundle
from backstory.fhir.codes import FhirTableError, load_table
from backstory.fhir.questionnaire import (
    QUESTIONNAIRES,
    code_systems,
    forms_bundle,
    questionnaire,
    questionnaire_names,
)
from backstory.fhir.r4b import FhirValidationError, validate
from backstory.fhir.response import assessment_to_response, response_to_assessment

__all__ = [
    "QUESTIONNAIRES",
    "FhirTableError",
    "FhirValidationError",
    "PatientText",
    "assessment_to_response",
    "code_systems",
    "export_bundle",
    "forms_bundle",
    "load_table",
    "questionnaire",
    "questionnaire_names",
    "response_to_assessment",
    "validate",
]
