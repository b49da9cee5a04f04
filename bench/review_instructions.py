"""Instructions per review, counted by callgrind: a figure machine load does not move.

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python bench/review_instructions.py N

Run it with N=0 and N=30 and divide the difference of the "Collected" totals by 30: that
is one review with warm caches (both runs first review the same 100 drafts, so every
phrase they touch is already compiled). `--proselint` counts proselint on the same drafts.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from review_bench import make_corpus, proselint_checker

from netcoach.bot.review import review


def main() -> None:
    n = int(sys.argv[1])
    drafts = make_corpus(100, 7)
    if "--proselint" in sys.argv:
        lint = proselint_checker()
        assert lint is not None, "pip install -e '.[bench]' for proselint"
        for _, text in drafts[:10]:
            lint(text, "dm")
        for _, text in drafts[:n]:
            lint(text, "dm")
        return
    for context, text in drafts:
        review(text, context)
    for context, text in drafts[:n]:
        review(text, context)


if __name__ == "__main__":
    main()
