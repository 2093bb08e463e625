"""Is a question written in English? A stop-word ratio, not a language model.

Coopbot answers in French only; a person who writes in English gets a short French note
saying so (``kb.english_note``) before the usual answer. The test is simple and cheap:
the share of the words that are English function words (« what », « how », « the »,
« is »…). Words that are also French (« a », « on », « me », « an », « or », « son »…)
are left out of the list, so familiar or phone-style French (« c koi le DLA »,
« jveux créer une asso ») never looks English.
"""

from __future__ import annotations

import re

from knowledge.normalise import ascii_letters

ENGLISH_FUNCTION_WORDS = frozenset({
    "the", "is", "are", "was", "were", "be", "been", "what", "how", "who", "whom",
    "why", "where", "when", "which", "for", "with", "from", "of", "to", "and", "does",
    "do", "did", "can", "could", "should", "would", "will", "shall", "my", "your", "our",
    "their", "you", "we", "they", "it", "its", "this", "that", "these", "those", "there",
    "about", "into", "than", "any", "some", "i", "im", "need", "want", "get", "help",
    "please", "hi", "between", "in", "whats", "hows", "cant", "dont", "doesnt",
})
"""English words that are not French words too (checked against the French lexicon
the matcher uses: « a », « on », « as », « me », « or », « an », « son » are missing;
« in » stays, rare in French outside « in fine »)."""
MIN_RATIO = 0.25
MIN_HITS = 2

_WORD = re.compile(r"[a-z]+")


def looks_english(text: str) -> bool:
    """True when at least a quarter of the words, and at least two, are English function
    words (one-letter words but « i » are not counted: « c koi », « l'asso »)."""
    words = [w for w in _WORD.findall(ascii_letters(text.lower()).replace("'", ""))
             if len(w) > 1 or w == "i"]
    if not words:
        return False
    hits = sum(word in ENGLISH_FUNCTION_WORDS for word in words)
    return hits >= MIN_HITS and hits / len(words) >= MIN_RATIO
