"""``python bot.py learn``: retrain the second reader from the labelled data and the county's own
confirmations and corrections; install it only if it is not worse on the held-out sets.

The labelled data (tests/corpus, development sets only) lives in the source checkout; the
held-out sets there are the yardstick and are never trained on.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from cli.common import add_db_options, example_epilog, fail, open_database, settings_from


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "learn",
        help="用标注语料和本县的确认、更正重新训练统计读法",
        description=(
            "用开发语料加上本县干部对机器人读法的确认和更正（每次回答按钮都会记下）重新训练第二种"
            "读法（统计模型），在留出集上比较训练前后的成绩，更差就不安装。--suggest 列出本县常用、"
            "但词表里没有的说法，供管理员审核后加入 nlp/lexicon/。"
        ),
        epilog=example_epilog(
            "python bot.py learn",
            "python bot.py learn --suggest",
            "python bot.py learn --shipped        # 只用开发语料，重写随代码发布的模型（开发者用）",
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--suggest", action="store_true", help="只列出词表缺少的本县说法，不训练")
    parser.add_argument("--shipped", action="store_true", help="只用开发语料训练，写入 nlp/model/ 随代码发布的模型")
    parser.add_argument("--force", action="store_true", help="即使留出集成绩更差也安装（不建议）")
    add_db_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from tests.corpus import evaluate as corpus
    except ImportError:
        return fail("找不到标注语料（tests/corpus）。learn 需要在源代码目录里运行。")
    from nlp.reader import SHIPPED_MODEL, write_model

    settings = settings_from(args)
    calendar = corpus.default_calendar()
    say = _progress()
    if args.suggest:
        return _suggest(settings, calendar)
    say("读取开发语料 …")
    examples = _dev_examples(corpus, calendar)
    county: list = []
    if not args.shipped:
        say("读取本县的确认和更正 …")
        county = _county_examples(settings, calendar)
    try:
        held_sets = corpus.heldout_sets()
    except corpus.NotFrozen as refusal:
        return fail(f"留出集不可用：{refusal}")
    target = SHIPPED_MODEL if args.shipped else settings.path_of(settings.storage.reader_model)
    current = target if target.exists() else SHIPPED_MODEL
    say(f"训练：开发语料 {len(examples)} 条，本县 {len(county)} 条 …")
    model = _train(examples + county, calendar)
    print(f"训练样本 {len(examples) + len(county)} 条（开发语料 {len(examples)}，本县 {len(county)}）")
    before = _heldout_score(corpus, held_sets, calendar, current if current.exists() else None)
    candidate = target.with_name("new-" + target.name)  # same suffixes: gzipped like the target
    write_model(model, candidate)
    after = _heldout_score(corpus, held_sets, calendar, candidate)
    _print_scores(before, after)
    if held_sets and _worse(after, before) and not args.force:
        candidate.unlink()
        print(f"新模型在留出集上更差，未安装；仍用 {current}。")
        return 1
    candidate.replace(target)
    print(f"已安装：{target}")
    return 0


def _progress():
    if sys.stderr.isatty():
        return lambda message: print(message, file=sys.stderr, flush=True)
    return lambda message: None


def _dev_examples(corpus, calendar) -> list:
    from nlp.parser import Parser
    from nlp.reader_training import example_of

    examples = []
    for corpus_set in corpus.dev_sets():
        parser = Parser(corpus_set.snapshot(), calendar, reader=None)
        for item in corpus.load_corpus(corpus_set.messages):
            text = parser.parse(item.text, item.today, item.scope).reader_text
            examples.append(example_of(text, item.expect["intent"], item.expect.get("status"),
                                 item.expect.get("category")))
    return examples


def _county_rows(settings):
    from services.reading_examples import reading_examples
    from services.snapshot import load_snapshot

    database = open_database(settings)
    try:
        with database.transaction() as session:
            rows = reading_examples(session)
            snapshot = load_snapshot(session)
    finally:
        database.dispose()
    return rows, snapshot


def _county_examples(settings, calendar) -> list:
    from nlp.parser import Parser
    from nlp.reader_training import example_of

    rows, snapshot = _county_rows(settings)
    if not rows or not snapshot.townships:
        return []
    parser = Parser(snapshot, calendar, reader=None)
    examples = []
    for text, _reading, final in rows:
        intent = final.get("intent") or "none"
        reader_text = parser.parse(text, _today(settings)).reader_text
        if intent == "none":
            examples.append(example_of(reader_text, "unknown", None))
        elif final.get("status"):
            examples.append(example_of(reader_text, intent, final["status"], final.get("category")))
    return examples


def _today(settings):
    import datetime as dt

    return dt.datetime.now(settings.county.tz).date()


def _train(examples: list, calendar) -> dict:
    from nlp.lexicon import load_lexicon
    from nlp.reader import StatisticalReader
    from nlp.reader_training import train

    return train(examples, StatisticalReader.untrained(load_lexicon()))


def _heldout_score(corpus, held_sets, calendar, model_path: Path | None):
    """Held-out outcomes of the pair with this model (None: the rules alone)."""
    from nlp.parser import Parser

    total = corpus.Report()
    for corpus_set in held_sets:
        parser = Parser(corpus_set.snapshot(), calendar, reader=model_path)
        report = corpus.evaluate(parser, corpus.load_corpus(corpus_set.messages))
        total.outcomes.extend(report.outcomes)
    return total


def _key(report) -> tuple:
    return (len(report.confident_wrong_writes), -round(report.all_fields, 3), round(report.unnecessary_share, 3))


def _worse(after, before) -> bool:
    return _key(after) > _key(before)


def _print_scores(before, after) -> None:
    if not before.total:
        print("没有留出集，无法比较。")
        return
    for label, report in (("训练前", before), ("训练后", after)):
        print(f"留出集 {label}：全对 {report.all_fields:.1%}，有把握的错误写入 "
              f"{len(report.confident_wrong_writes)} 条，不必要的确认 {report.unnecessary_share:.1%}")


def _suggest(settings, calendar) -> int:
    """Wording in the county's answered messages that no lexicon word covers."""
    from nlp.lexicon import load_lexicon
    from nlp.parser import Parser
    from nlp.reader import Vocabulary

    rows, snapshot = _county_rows(settings)
    if not rows:
        print("还没有干部确认或更正过的消息。")
        return 0
    vocabulary = Vocabulary(load_lexicon())  # every lexicon word: what is covered already
    parser = Parser(snapshot, calendar, reader=None)
    counts: Counter[tuple[str, str]] = Counter()
    for text, reading, final in rows:
        if reading.get("status") == final.get("status") and "no_status" not in reading.get("flags", ()):
            continue
        label = final.get("status") or final.get("intent") or "none"
        for run in _uncovered_runs(vocabulary.cut(parser.parse(text, _today(settings)).reader_text)):
            for size in (2, 3, 4):
                counts.update((run[i:i + size], label) for i in range(len(run) - size + 1))
    if not counts:
        print("没有发现词表缺少的说法。")
        return 0
    print("本县常用、词表里没有的说法（说法 · 次数 · 干部确认为）：")
    for (gram, label), count in counts.most_common(30):
        print(f"  {gram} · {count} · {label}")
    return 0


def _uncovered_runs(tokens: list[str]) -> list[str]:
    """Runs of Chinese characters that no lexicon word took (words are the longer tokens)."""
    runs, current = [], ""
    for token in tokens:
        if len(token) == 1 and "\u4e00" <= token <= "\u9fff":
            current += token
        else:
            runs.append(current)
            current = ""
    return [run for run in (*runs, current) if len(run) >= 2]
