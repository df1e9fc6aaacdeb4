"""The self-management programme: a weekly plan built from a report, adapted by check-ins.

Its knowledge (exercises, sessions, the activity rule, the flare-up plan, the check-in rules)
is ``knowledge/data/programme.yaml``; the generator is pure, like the engine.
"""

from backstory.programme.figures import figure_svg
from backstory.programme.generate import (
    CheckInAnswers,
    Programme,
    ProgrammeRefused,
    build_programme,
)
from backstory.programme.knowledge import (
    ProgrammeKnowledge,
    load_programme_knowledge,
    load_programme_knowledge_from,
)

__all__ = [
    "CheckInAnswers",
    "Programme",
    "ProgrammeKnowledge",
    "ProgrammeRefused",
    "build_programme",
    "figure_svg",
    "load_programme_knowledge",
    "load_programme_knowledge_from",
]
