"""Cross-validate the second reader on the development sets: how the pair would do on wording
the reader was not trained on, for several agreement thresholds.

    python -m tests.corpus.crossval [--folds 5] [--thresholds 0.2,0.3,0.4,0.5]

Each development message is read by a reader trained on the other folds. Prints, per
threshold, the pair's confident wrong writes, unnecessary questions and all-fields-right, and
the rules alone for comparison. Held-out sets are never touched here.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--category-at", default="0",
                        help="类别阈值（逗号分隔）：统计读法给规则的类别低于它就问；0 为不查")
    parser.add_argument("--errors", action="store_true", help="列出第一个阈值下的有把握的错误写入")
    parser.add_argument("--field", help="也列出第一个阈值下这个字段读错的消息，如 status")
    args = parser.parse_args(argv)
    thresholds = [(float(t), float(c)) for t in args.thresholds.split(",")
                  for c in args.category_at.split(",")]

    from nlp.lexicon import load_lexicon
    from nlp.parser import Parser
    from nlp.reader import StatisticalReader
    from nlp.reader_training import example_of, train

    calendar = corpus.default_calendar()
    rows = []  # (set, item, rules parse) for every development message
    for corpus_set in corpus.dev_sets():
        rules = Parser(corpus_set.snapshot(), calendar, reader=None)
        for item in corpus.load_corpus(corpus_set.messages):
            rows.append((corpus_set, item, rules.parse(item.text, item.today, item.scope)))
    base = StatisticalReader.untrained(load_lexicon())
    reports = {t: corpus.Report() for t in thresholds}
    rules_report = corpus.Report()
    for fold in range(args.folds):
        train_rows = [r for i, r in enumerate(rows) if i % args.folds != fold]
        test_rows = [r for i, r in enumerate(rows) if i % args.folds == fold]
        examples = [example_of(p.reader_text, item.expect["intent"], item.expect.get("status"),
                                 item.expect.get("category"))
                    for _, item, p in train_rows]
        reader = StatisticalReader(train(examples, base), base.lexicon)
        parsers = {}
        for corpus_set, item, parse in test_rows:
            rules_report.outcomes.append(corpus.score(item, parse.to_contract()))
            if corpus_set.name not in parsers:
                parsers[corpus_set.name] = Parser(corpus_set.snapshot(), calendar, reader=reader)
            paired = parsers[corpus_set.name]
            for threshold in thresholds:
                paired.agree_at, paired.category_agree_at = threshold
                got = paired.parse(item.text, item.today, item.scope)
                reports[threshold].outcomes.append(corpus.score(item, got.to_contract()))
        print(f"fold {fold + 1}/{args.folds}", file=sys.stderr)
    print(f"开发集 {len(rows)} 条，{args.folds} 折交叉验证")
    print(corpus.HEADER)
    print(corpus.summary_line("规则单独", rules_report))
    for threshold in thresholds:
        print(corpus.summary_line(f"两者合用 {threshold[0]}/{threshold[1]}", reports[threshold]))
    wrong = []
    if args.errors:
        wrong += reports[thresholds[0]].confident_wrong_writes
    if args.field:
        wrong += [o for o in reports[thresholds[0]].outcomes if args.field in o.wrong_fields]
    if wrong:
        for outcome in wrong:
            print(f"  [{','.join(outcome.wrong_fields)}] {outcome.item.text}")
            print(f"    应为 {corpus._brief(outcome.item.expect)}")
            print(f"    得到 {corpus._brief(outcome.got)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
