"""Turn free text into matching terms: tokenise, fix typos, stem, map synonyms, drop stop words.

Pure Python and deterministic, so the same question always gives the same answer and no model
or data download is ever needed. The same pipeline runs over the knowledge and over the
person's question, so small imperfections in the stemmer cancel out.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

_WORD = re.compile(r"[a-z0-9]+(?:&[a-z0-9]+)*")
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`]")
_AMPERSAND = re.compile(r"\s*&\s*")


def _words(block: str) -> frozenset[str]:
    """A word list written as a block of text (easier to read and review than a literal)."""
    return frozenset(block.split())


# Words too short or too special to strip ("tens" is the TENS machine, not "ten").
_NO_STEM = frozenset({"tens", "news", "less", "physics"})

# Function words and conversational filler. Matching is on content words only, so long,
# chatty questions are judged by what they are about, not by how they are phrased.
STOP_WORDS = _words(
    """
    a about above actually after again all also am an and any anyone anything anyway are
    around as at basically be because been before being bit both but by can cant could
    couldnt did didnt do does doesnt doing done dont down during each else even ever every
    everyone exactly for from further get gets getting go going gonna got had has have
    having he her here hers him his how however i id if im in into is isnt it its ive just
    kind know let like literally lot lots maybe me might mine more most much must my myself
    no nor not now of off on once one only or other our ours out over own please pretty
    quite rather really right said say says she should shouldnt so some someone something
    sort still such tell than thank thanks that thats the their them then there these they
    thing things think this those though through to told too totally under up us very wanna
    want wanted was wasnt way we well were what when where whether which while who whom
    whose why will with wonder wondered wondering wont would wouldnt yeah yes yet you youre
    your yours yourself hi hello dear doc dr sorry question silly simple terms somebody
    people person mate friend friends wife husband partner mum dad mother father son
    daughter brother sister gp doctor doctors physio physiotherapist consultant nurse online
    internet google heard read see seen seems seem feel feels felt keep already lately
    recently since ago today make makes made often usually always bad good take takes taking
    took
    """
)

# Generic English words (everyday verbs, nouns, adjectives and adverbs). They carry no weight
# unless the knowledge itself uses them, in which case they are informative here and keep
# their weight. Without this list, one ordinary word the knowledge happens not to contain
# ("should I *push* for a scan") would count as much against a match as a truly off-topic one
# ("tattoo"). Body parts and health conditions are deliberately not in this list.
COMMON_WORDS = _words(
    """
    able about accept across act add added admit affect affected affects after afterwards
    against agree ahead allow almost alone along although among amount another answer
    anybody anymore anywhere appear apply area arrive ask asked asking assume attempt
    available avoid away awful bag based basic become becoming begin beginning behind
    believe belong below beside besides better between beyond big bigger biggest bought
    bring brought build built business busy buy call called calling came cannot care careful
    carry case cause certain certainly chance change changed check choice choose clear
    clearly close come comes coming complete completely connect connected connection
    consider continue cost could couple course cut day days deal decide decided deep
    definitely describe despite detail did die different difficult directly discuss done
    double doubt during early easier easily easy either else end ended enough entire
    entirely especially etc even event eventually every everybody everything everywhere
    example except expect expected experience explain fact fair fairly far fast few fewer
    figure fill final finally find fine finish first follow following forward found free
    front full fully further general generally give given gives giving glad gone great grow
    guess half handle happen happened happening happens happy hard hardly hate hear help
    helped helping hope hoping hour hours huge idea important including indeed information
    instead interest interested issue issues item keen kept kind kinds knew known large
    larger last late later least leave leaving left less let letter letters level likely
    line link linked list listen little live lives living look looked looking looks lose
    lost love low main mainly major manage many matter maybe mean meant mention mentioned
    mentions middle mind minor minute minutes miss missed moment money month months morning
    most mostly move much myself name nearly necessary need needed needs never next nice
    night nobody none normal normally note noted notes nothing notice noticed number
    obviously occur odd often okay old once open option options order ordinary others
    otherwise part particular particularly pass past pay perhaps pick place plan plenty
    point points possible possibly practice prefer present previous probably problem
    problems proper properly provide pull push put putting quick quickly quite raise rarely
    rather reach ready real realise realize reason reasons receive recent recommend regular
    regularly relate related remember reply report request require result results return
    right round run running sake save saw saying second seeing seemed send sense sent
    serious set several share short show showed shown side sign similar simply since single
    situation slightly slow slowly small someday somehow sometime sometimes somewhat
    somewhere soon sound sounds speak special spend spent stand standard start started
    starting state stay step stuff suddenly suggest suggested suppose supposed sure surely
    symptom symptoms talk talked talking thanks therefore thin thinking third thought
    throughout till time times tiny together tomorrow tonight top total touch toward towards
    treat treated treating treatment treatments tried true truly try trying turn turned
    twice type typical understand unless unlikely until upon use used useful uses using
    usual various view visit wait waiting walk walked wanting watch week weeks whatever
    whenever whereas wherever whilst whole wide within without word words worth wrote year
    years yesterday young
    """
)


def raw_tokens(text: str) -> list[str]:
    """Lower-case word tokens, keeping ``a&e`` whole and joining contractions (``don't``)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = _APOSTROPHES.sub("", folded)
    folded = _AMPERSAND.sub("&", folded)
    return _WORD.findall(folded)


def stem(word: str) -> str:
    """A light suffix stripper: enough to match plurals and -ing/-ed forms, nothing clever."""
    if len(word) <= 3 or not word.isalpha() or word in _NO_STEM:
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ingly", "edly", "ing", "ed", "ly"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            elif w.endswith("i"):
                w = w[:-1] + "y"
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def correct_spelling(
    tokens: Sequence[str], vocabulary: frozenset[str], ordered_vocabulary: Sequence[str]
) -> list[str]:
    """Replace unknown words by the closest known word, when one is close enough.

    Only alphabetic words of six letters or more are touched, and the suggestion must start
    with the same letter: typos rarely hit the first letter, and this keeps ordinary words
    from being turned into medical ones.
    """
    out: list[str] = []
    for tok in tokens:
        if tok in vocabulary or len(tok) < 6 or not tok.isalpha():
            out.append(tok)
            continue
        candidates = [w for w in ordered_vocabulary if w[:1] == tok[:1]]
        best = difflib.get_close_matches(tok, candidates, n=1, cutoff=0.8)
        out.append(best[0] if best else tok)
    return out


def apply_synonyms(
    tokens: Sequence[str], phrases: Mapping[tuple[str, ...], str], longest: int
) -> list[tuple[str, str | None]]:
    """Replace known phrases by their canonical token, longest phrase first, left to right.

    Returns ``(term, raw word)`` pairs: the stem and its original word for ordinary words, the
    canonical token and None for replaced phrases (so stop words are judged on real words).
    """
    stems = [stem(t) for t in tokens]
    out: list[tuple[str, str | None]] = []
    i = 0
    while i < len(stems):
        for size in range(min(longest, len(stems) - i), 0, -1):
            canonical = phrases.get(tuple(stems[i : i + size]))
            if canonical is not None:
                out.append((canonical, None))
                i += size
                break
        else:
            out.append((stems[i], tokens[i]))
            i += 1
    return out


def phrase_table(groups: Iterable[tuple[str, Iterable[str]]]) -> dict[tuple[str, ...], str]:
    """Stemmed token tuples of every synonym term, mapped to the group's canonical token.

    A group whose canonical token is empty marks phrases to drop.
    """
    table: dict[tuple[str, ...], str] = {}
    for canonical, terms in groups:
        for term in (*terms, canonical) if canonical else terms:
            key = tuple(stem(t) for t in raw_tokens(term))
            if key:
                table.setdefault(key, canonical)
    return table


COMMON_STEMS = frozenset(stem(w) for w in COMMON_WORDS)
