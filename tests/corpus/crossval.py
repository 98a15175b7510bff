"""Cross-validate the second reader on the development sets: how the pair would do on wording
the reader was not trained on, for several agreement thresholds.

    python -m tests.corpus.crossval [--folds 5] [--thresholds 0.2,0.3,0.4,0.5]

Each development message is read by a reader trained on the other folds. Prints, per
threshold, the pair's confident wrong writes, unnecessary questions and all-fields-right, and
the rules alone for comparison. Held-out sets are never touched here.
"""

from __future__ import annotations

import argparse
import copy
import sys
from collections.abc import Sequence

from tests.corpus import evaluate as corpus


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.corpus.crossval",
        description="在开发集上交叉验证统计读法，比较不同的一致阈值（不碰留出集）。",
        epilog="例如:\n  python -m tests.corpus.crossval\n  python -m tests.corpus.crossval --folds 10 --thresholds 0.2,0.3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--thresholds", default="0.1,0.2,0.3,0.4,0.5")
    args = parser.parse_args(argv)
    thresholds = [float(t) for t in args.thresholds.split(",")]

    from nlp.lexicon import load_lexicon
    from nlp.parser import Parser, _second_opinion
    from nlp.reader import StatisticalReader
    from nlp.reader_training import example_of, train

    calendar = corpus.default_calendar()
    rows = []  # (item, rules parse) for every development message
    for corpus_set in corpus.dev_sets():
        rules = Parser(corpus_set.snapshot(), calendar, reader=None)
        for item in corpus.load_corpus(corpus_set.messages):
            rows.append((item, rules.parse(item.text, item.today, item.scope)))
    base = StatisticalReader.untrained(load_lexicon())
    reports = {t: corpus.Report() for t in thresholds}
    rules_report = corpus.Report()
    for fold in range(args.folds):
        train_rows = [r for i, r in enumerate(rows) if i % args.folds != fold]
        test_rows = [r for i, r in enumerate(rows) if i % args.folds == fold]
        examples = [example_of(p.reader_text, item.expect["intent"], item.expect.get("status"))
                    for item, p in train_rows]
        reader = StatisticalReader(train(examples, base), base.lexicon)
        for item, parse in test_rows:
            rules_report.outcomes.append(corpus.score(item, parse.to_contract()))
            guess = reader.read(parse.reader_text)
            for threshold in thresholds:
                paired = copy.deepcopy(parse)
                _second_opinion(paired, guess, threshold)
                reports[threshold].outcomes.append(corpus.score(item, paired.to_contract()))
        print(f"fold {fold + 1}/{args.folds}", file=sys.stderr)
    print(f"开发集 {len(rows)} 条，{args.folds} 折交叉验证")
    print(corpus.HEADER)
    print(corpus.summary_line("规则单独", rules_report))
    for threshold in thresholds:
        print(corpus.summary_line(f"两者合用 阈值 {threshold}", reports[threshold]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
