"""Which language a draft is in: English, or the one it looks like instead.

The review's phrases are English; a Spanish draft must not be told it says nothing about
the reader just because no English word matched. A script test and a stop-word vote are
enough for that (and measured in tests/test_language.py); no model is loaded.
"""

from __future__ import annotations

import re
from collections import Counter

# Frequent function words, chosen to be rare in the other languages listed.
_STOPWORDS = {
    "en": "i a am the and to of is it you that for on with this be are have was my your we at not "
    "but can so what if all just about do will from how like would when there they an "
    "or as by i'm i've i'd i'll you're it's don't thanks could should me us our out up them "
    "no yes hello here please he she his her its has had were been who which where "
    "any some than then also into only really one get got want need know think",
    "es": "el la los las que y en un una por con para es lo se del al como más pero su sus me "
    "te tu mi mis muy gracias hola estoy soy vi tus si también cómo qué está nos tengo desde "
    "este esta estos hacia sobre trabajo años",
    "fr": "le la les de des et en un une est pour que qui dans pas sur avec je vous nous mon "
    "ma mes ton ta tes au aux ce cette bonjour merci suis j'ai c'est ai votre vos salut ça "
    "va très bien oui",
    "de": "der die das und ist ich nicht ein eine zu mit den dem sie es auf für von wir ihr "
    "mein dein bin hallo danke auch sich du dich dir ihnen habe wie",
    "pt": "o a os as de que e em um uma para com não é do da dos das por no na mais se eu "
    "você seu sua meu minha olá obrigado obrigada estou sou vi também como",
    "it": "il lo la i gli le di che e è un una per con non sono mi ti ci del della al alla "
    "ho ciao grazie sei anche come tuo tua",
    "nl": "de het een en van ik je is dat niet op te zijn met voor er maar ook hallo bedankt "
    "jij jouw wij",
}
_LISTS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
# Only words that belong to one language vote: "de" or "la" says nothing between Spanish,
# French and Portuguese.
_VOTES = {
    lang: words - frozenset().union(*(w for other, w in _LISTS.items() if other != lang))
    for lang, words in _LISTS.items()
}
_VOTER = {w: lang for lang, words in _VOTES.items() for w in words}
NAMES = {
    "en": "English",
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "it": "Italian",
    "nl": "Dutch",
    "ru": "Russian",
    "uk": "Ukrainian",
    "el": "Greek",
    "ar": "Arabic",
    "he": "Hebrew",
    "hi": "Hindi",
    "th": "Thai",
    "zh": "Chinese",
    "ja": "Japanese",
    "ko": "Korean",
}
_SCRIPTS = (  # letters of a script, counted with one C-level regex each
    (re.compile("[\u0400-\u04ff]"), "ru"),
    (re.compile("[\u0370-\u03ff]"), "el"),
    (re.compile("[\u0600-\u06ff\u0750-\u077f]"), "ar"),
    (re.compile("[\u0590-\u05ff]"), "he"),
    (re.compile("[\u0900-\u097f]"), "hi"),
    (re.compile("[\u0e00-\u0e7f]"), "th"),
    (re.compile("[\u3040-\u30ff]"), "ja"),
    (re.compile("[\uac00-\ud7af\u1100-\u11ff]"), "ko"),
    (re.compile("[\u4e00-\u9fff\u3400-\u4dbf]"), "zh"),
)
_UKRAINIAN = frozenset("іїєґ")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_OTHER_LETTERS = re.compile(r"[^\W\d_\u0000-\u024f]")
_NOTHING: Counter[str] = Counter()  # read only
MIN_WORDS = 4  # shorter drafts ("Hola!") are too short to vote on: taken as English


def detect(counts: Counter[str], text: str, ignore: Counter[str] | None = None) -> str:
    """A language code for a draft, from how often each lower-case word occurs in it
    (less the `ignore` counts: the words of its links, say) and its text."""
    script = "" if text.isascii() else _script(text)
    if script:
        return script
    ignore = ignore or _NOTHING
    if counts.total() - ignore.total() < MIN_WORDS:
        return "en"
    present = counts.keys()
    votes = dict.fromkeys(_VOTES, 0)
    for w in present & _VOTER:  # one pass: each voting word belongs to one language
        votes[_VOTER[w]] += counts[w] - ignore[w]
    if votes["en"] == 0:  # not one English function word: shared ones ("mi", "de") count too
        votes = {
            lang: 2 * votes[lang] + sum(counts[w] - ignore[w] for w in _LISTS[lang] & present)
            for lang in votes
        }
    best = max(votes, key=lambda lang: (votes[lang], lang == "en"))
    # Names and loanwords make stray hits; another language must clearly outvote English.
    return best if votes[best] >= max(2, 2 * votes["en"] + 1) else "en"


def _script(text: str) -> str:
    """The language of a non-Latin script when most letters are in it; "" for Latin."""
    others = _OTHER_LETTERS.findall(text)
    if not others or len(others) <= len(_LATIN.findall(text)):
        return ""
    letters = "".join(others)
    counts = {lang: len(pattern.findall(letters)) for pattern, lang in _SCRIPTS}
    lang = max(counts, key=lambda k: counts[k])
    if not counts[lang]:
        return ""
    if lang == "ru" and _UKRAINIAN & set(letters):
        return "uk"
    if lang == "zh" and counts["ja"]:
        return "ja"
    return lang
