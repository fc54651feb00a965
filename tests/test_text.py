"""The text stage: tokens, POS tags, vocabulary, GloVe embeddings, and build_text's outputs."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from pathlib import Path

import nltk
import numpy as np
import pytest

from wsmr.io import read_jsonl, write_jsonl
from wsmr.text import (
    SPECIALS,
    TaggerDataMissing,
    build_text,
    build_vocabulary,
    download_nltk_data,
    embedding_matrix,
    lookup_glove,
    read_glove_file,
    read_vocabulary,
    resolve_settings,
    split_words,
    tag_sentences,
    unk_share,
)

SPLITS = ("train", "val", "test")
SUBSET_GLOVE = "data/glove/glove.840B.300d.charades_sta-subset.txt"


def charades_samples(path: Path) -> list[dict]:
    """Samples in the pipeline's contract from a Charades-STA file (`vid start end##sentence`)."""
    samples = []
    for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        head, sentence = line.split("##")
        vid, start, end = head.split()
        samples.append({"qid": f"{path.stem}-{line_no}", "vid": vid, "duration": 30.0,
                        "start": float(start), "end": float(end), "sentence": sentence})
    return samples


def write_splits(folder: Path, samples_by_split: dict[str, list[dict]]) -> tuple[dict, dict]:
    samples_in = {split: folder / "in" / f"{split}.jsonl" for split in samples_by_split}
    for split, samples in samples_by_split.items():
        write_jsonl(samples_in[split], samples)
    return samples_in, {split: folder / "samples" / f"{split}.jsonl" for split in samples_by_split}


def pretagged(qid: int, words: str, tags: str) -> dict:
    return {"qid": qid, "vid": "v", "duration": 10.0, "start": 0.0, "end": 5.0,
            "sentence": words, "tokens": words.split(), "tags": tags.split()}


def write_glove(path: Path, rows: dict[str, list[float]]) -> Path:
    path.write_text("".join(f"{word} {' '.join(map(str, vec))}\n" for word, vec in rows.items()),
                    encoding="utf-8")
    return path


def glove_file_rows(path: Path, dim: int) -> dict[str, np.ndarray]:
    """The test's own reading of a GloVe file, to check the library's against."""
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split(" ")
        rows.setdefault(" ".join(fields[:-dim]), np.array(fields[-dim:], dtype=np.float32))
    return rows


@pytest.fixture
def no_nltk_data(tmp_path, monkeypatch):
    """NLTK sees no data at all: NLTK_DATA is an empty folder and the search path is empty."""
    empty = tmp_path / "empty_nltk_data"
    empty.mkdir()
    monkeypatch.setenv("NLTK_DATA", str(empty))
    monkeypatch.setattr(nltk.data, "path", [])


@pytest.fixture(scope="module")
def charades_text(shared, tmp_path_factory):
    """build_text on the real Charades-STA queries with the real tagger and GloVe 840B rows."""
    folder = tmp_path_factory.mktemp("charades_text")
    train = charades_samples(shared / "data/charades_sta/charades_sta_train.txt")
    samples_in, samples_out = write_splits(folder, {
        "train": train[:-500], "val": train[-500:],
        "test": charades_samples(shared / "data/charades_sta/charades_sta_test.txt"),
    })
    settings = {"vocab_size": 1111, "seed": 7,
                "glove": {"source": "file", "path": str(shared / SUBSET_GLOVE), "dim": 300}}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nltk.data, "path", [str(shared / "nltk_data")])
        counts = build_text(samples_in, samples_out, folder / "text/vocab.json",
                            folder / "text/embeddings.npy", settings)
    return {"folder": folder, "samples_out": samples_out, "counts": counts,
            "vocab": read_vocabulary(folder / "text/vocab.json"),
            "embeddings": np.load(folder / "text/embeddings.npy")}


# --- real data -------------------------------------------------------------------------------

def test_real_vocabulary_has_at_most_the_configured_size(charades_text):
    vocab, counts = charades_text["vocab"], charades_text["counts"]
    assert tuple(vocab.words[:5]) == SPECIALS
    assert 1000 < len(vocab.plain_words) <= 1111
    assert counts["vocab_size"] == len(vocab) == counts["vocab_words"] + len(SPECIALS)
    assert charades_text["embeddings"].shape == (len(vocab), 300)
    assert charades_text["embeddings"].dtype == np.float32
    assert 0.0 < counts["test_unk_share"] < 0.05
    assert counts["sentences_tagged"] == 12408 + 3720 and counts["sentences_pretagged"] == 0


def test_real_vocabulary_keeps_the_most_frequent_training_words(charades_text):
    train_tokens = [s["tokens"] for s in read_jsonl(charades_text["samples_out"]["train"])]
    frequency = Counter(token for tokens in train_tokens for token in tokens)
    vocab = build_vocabulary(train_tokens, size=300)
    assert len(vocab.plain_words) == 300
    least_kept = min(frequency[word] for word in vocab.plain_words)
    assert all(frequency[word] <= least_kept for word in frequency if word not in vocab)


def test_real_sentence_gets_noun_tags(charades_text, shared, monkeypatch):
    first = read_jsonl(charades_text["samples_out"]["train"])[0]
    assert first["sentence"] == "a person is putting a book on a shelf."
    tags = dict(zip(first["tokens"], first["tags"], strict=True))
    assert [tags[w] for w in ("person", "book", "shelf")] == ["NN", "NN", "NN"]
    assert tags["putting"].startswith("VB")
    monkeypatch.setattr(nltk.data, "path", [str(shared / "nltk_data")])
    [capitalised] = tag_sentences([split_words("A person opens the door.")])
    assert capitalised[1] == "NN" and capitalised[2].startswith("VB")


def test_embeddings_equal_the_glove_rows_of_shared_words(charades_text, shared):
    vocab, matrix = charades_text["vocab"], charades_text["embeddings"]
    glove = glove_file_rows(shared / SUBSET_GLOVE, dim=300)
    shared_words = [w for w in vocab.plain_words if w in glove]
    assert len(shared_words) > 900
    for word in shared_words:
        np.testing.assert_array_equal(matrix[vocab.id_of(word)], glove[word], err_msg=word)
    assert charades_text["counts"]["oov_words"] == len(vocab.plain_words) - len(shared_words)
    assert not matrix[0].any()  # <pad>


def test_outputs_are_written_whole_and_keep_the_input_fields(charades_text):
    text_dir = charades_text["folder"] / "text"
    assert sorted(p.name for p in text_dir.iterdir()) == ["embeddings.npy", "vocab.json"]
    test_samples = read_jsonl(charades_text["samples_out"]["test"])
    assert len(test_samples) == 3720
    assert ({"qid", "vid", "duration", "start", "end", "sentence", "tokens", "tags"}
            <= set(test_samples[0]))
    assert all(len(s["tokens"]) == len(s["tags"]) <= 20 for s in test_samples)


# --- tagging without NLTK data ---------------------------------------------------------------

def test_pretagged_samples_need_no_nltk_data(tmp_path, no_nltk_data):
    samples = [pretagged(1, "red circle jumps", "JJ NN VBZ"),
               pretagged(2, "blue square spins", "JJ NN VBZ")]
    samples_in, samples_out = write_splits(tmp_path, {split: samples for split in SPLITS})
    glove = write_glove(tmp_path / "glove.txt", {"red": [1.0, 0.0], "circle": [0.0, 1.0]})
    counts = build_text(samples_in, samples_out, tmp_path / "vocab.json", tmp_path / "emb.npy",
                        {"glove": {"source": "file", "path": str(glove)}})
    assert counts["sentences_pretagged"] == 6 and counts["sentences_tagged"] == 0
    assert read_jsonl(samples_out["val"])[0]["tags"] == ["JJ", "NN", "VBZ"]


def test_missing_tagger_data_says_both_ways_to_get_it(no_nltk_data):
    with pytest.raises(TaggerDataMissing) as error:
        tag_sentences([["a", "person", "sits"]])
    assert "NLTK_DATA" in str(error.value) and "resources/nltk_data" in str(error.value)


def test_download_nltk_data_fetches_the_tagger_into_the_folder(tmp_path, monkeypatch):
    calls = []

    def fake_download(package, download_dir, **kwargs):
        calls.append((package, download_dir))
        (Path(download_dir) / "taggers" / package).mkdir(parents=True)

    monkeypatch.setattr(nltk, "download", fake_download)
    assert download_nltk_data(tmp_path / "nltk_data") == tmp_path / "nltk_data"
    assert calls == [("averaged_perceptron_tagger_eng", str(tmp_path / "nltk_data"))]


def test_partly_tagged_sample_is_an_error_naming_the_file(tmp_path):
    broken = pretagged(3, "a b c", "DT NN")
    samples_in, samples_out = write_splits(tmp_path, {"train": [broken], "test": [broken]})
    with pytest.raises(ValueError, match=r"train\.jsonl: record 1 \(qid 3\)"):
        build_text(samples_in, samples_out, tmp_path / "vocab.json", tmp_path / "emb.npy")


# --- cap, vocabulary, coverage ---------------------------------------------------------------

def test_sentences_are_cut_at_max_words_and_counted(tmp_path):
    long = pretagged(1, "a b c d e f g h", "DT NN NN NN NN NN NN NN")
    short = pretagged(2, "a b c", "DT NN NN")
    samples_in, samples_out = write_splits(tmp_path, {"train": [long, short], "val": [short],
                                                      "test": [long]})
    glove = write_glove(tmp_path / "glove.txt", {"a": [1.0, 2.0]})
    counts = build_text(samples_in, samples_out, tmp_path / "vocab.json", tmp_path / "emb.npy",
                        {"max_words": 5, "glove": {"source": "file", "path": str(glove)}})
    assert counts["sentences_cut"] == 2
    train = read_jsonl(samples_out["train"])
    assert train[0]["tokens"] == ["a", "b", "c", "d", "e"] and len(train[0]["tags"]) == 5
    assert train[1]["tokens"] == ["a", "b", "c"]


def test_vocabulary_comes_from_train_only_and_coverage_counts_test_unks(tmp_path):
    train = [pretagged(1, "a red ball rolls", "DT JJ NN VBZ"),
             pretagged(2, "a red cube", "DT JJ NN")]
    test = [pretagged(3, "a zebra rolls", "DT NN VBZ"), pretagged(4, "a blue zebra", "DT JJ NN")]
    samples_in, samples_out = write_splits(tmp_path, {"train": train, "val": train, "test": test})
    glove = write_glove(tmp_path / "glove.txt", {"a": [1.0, 2.0]})
    counts = build_text(samples_in, samples_out, tmp_path / "vocab.json", tmp_path / "emb.npy",
                        {"glove": {"source": "file", "path": str(glove)}})
    vocab = read_vocabulary(tmp_path / "vocab.json")
    assert vocab.words == [*SPECIALS, "a", "red", "ball", "cube", "rolls"]  # count, then word
    assert vocab.id_of("zebra") == vocab.id_of("blue") == SPECIALS.index("<unk>")
    assert counts["test_unk_share"] == pytest.approx(3 / 6)  # zebra, blue, zebra of 6 tokens
    assert counts["oov_words"] == 4


def test_vocabulary_size_cut_breaks_ties_by_word():
    vocab = build_vocabulary([["b", "a", "c", "c"], ["d", "b", "a"]], size=3)
    assert vocab.plain_words == ["a", "b", "c"]
    assert unk_share(vocab, [["a", "d"], ["e", "b"]]) == 0.5


def test_unknown_setting_is_an_error():
    with pytest.raises(ValueError, match="vocab_sise"):
        resolve_settings({"vocab_sise": 10})


# --- GloVe -----------------------------------------------------------------------------------

def test_missing_words_get_deterministic_seeded_vectors():
    vocab = build_vocabulary([["cat", "dog", "qzx"]], size=10)
    found = {"cat": np.full(4, 0.5, np.float32), "dog": np.full(4, -0.5, np.float32)}
    first, missing = embedding_matrix(vocab, found, dim=4, seed=3)
    again, _ = embedding_matrix(vocab, found, dim=4, seed=3)
    other, _ = embedding_matrix(vocab, found, dim=4, seed=4)
    qzx = vocab.id_of("qzx")
    assert missing == ["qzx"]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[qzx], other[qzx])
    np.testing.assert_array_equal(first[vocab.id_of("cat")], other[vocab.id_of("cat")])
    assert not first[0].any() and first[1].any()  # <pad> zeros, <unk> seeded


def test_glove_words_with_spaces_take_the_last_dim_fields(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 1 2 3\n. . . 4 5 6\nat a 7 8 9\n", encoding="utf-8")
    found, dim = read_glove_file(path, {". . .", "at a", "the"})
    assert dim == 3
    np.testing.assert_array_equal(found["at a"], [7, 8, 9])
    np.testing.assert_array_equal(found[". . ."], [4, 5, 6])


def test_bad_glove_line_is_an_error_naming_file_and_line(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 1 2 3\nof 4 5\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"glove\.txt:2: expected a word and 3 numbers"):
        read_glove_file(path, {"of"})
    with pytest.raises(ValueError, match=r"glove\.txt:1: expected a word and 300 numbers"):
        read_glove_file(path, {"of"}, dim=300)


def test_packaged_glove_is_the_6b_50d_release():
    found, dim = lookup_glove(["the", "person", "qqqzzzx"], "package", None, None)
    assert dim == 50 and sorted(found) == ["person", "the"]
    np.testing.assert_allclose(found["the"][:3], [0.418, 0.24968, -0.41242])
    with pytest.raises(ValueError, match="50d"):
        lookup_glove(["the"], "package", None, 300)


def write_generated_glove(path: Path, lines: int, dim: int, vocab: list[str]) -> Path:
    """`lines` GloVe rows whose vocabulary words come last, so the whole file must be read."""
    vector = " ".join(f"{x:.5f}" for x in np.linspace(-1.0, 1.0, dim))
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines - len(vocab)):
            out.write(f"filler{i} {vector}\n")
        for word in vocab:
            out.write(f"{word} {vector}\n")
    return path


def glove_read_peak(path: Path, vocab: list[str]) -> int:
    """Peak bytes Python allocated while reading the vocabulary's rows out of `path`."""
    tracemalloc.start()
    try:
        found, _ = read_glove_file(path, [*vocab, "never-in-the-file"], dim=50)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sorted(found) == sorted(vocab)
    return peak


def test_glove_read_memory_does_not_grow_with_the_file(tmp_path):
    vocab = [f"word{i}" for i in range(20)]
    small = write_generated_glove(tmp_path / "small.txt", 20_000, 50, vocab)
    large = write_generated_glove(tmp_path / "large.txt", 200_000, 50, vocab)
    small_peak, large_peak = glove_read_peak(small, vocab), glove_read_peak(large, vocab)
    assert large.stat().st_size > 9 * small.stat().st_size
    assert large_peak < 1.2 * small_peak + 16_384, (small_peak, large_peak)


# --- bad GloVe files and what the stage leaves behind -----------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e39"])  # 1e39 overflows float32
def test_non_finite_glove_value_is_an_error_naming_file_and_line(tmp_path, value):
    path = tmp_path / "glove.txt"
    path.write_text(f"the 1 2 3\nperson 4 {value} 6\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"glove\.txt:2: .*not finite"):
        read_glove_file(path, {"the", "person"})


def test_real_datasets_glove_dim_catches_a_short_first_row(tmp_path):
    """With the shipped config's settings, a GloVe file whose line 1 lost a number is an error
    (inferred from line 1, the dimension would silently become 299)."""
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config.yaml").read_text())
    path = tmp_path / "glove.txt"
    row = " ".join(["0.5"] * 300)
    path.write_text(f"the {row.removesuffix(' 0.5')}\nperson {row}\n", encoding="utf-8")
    real = [name for name, ds in config["datasets"].items()
            if ds.get("text", {}).get("glove", {}).get("source") == "file"]
    assert real == ["charades", "activitynet"]
    for name in real:
        text = config["datasets"][name]["text"]
        glove = {**text["glove"], "path": str(path)}
        glove.pop("url")  # the download rule's key, not the stage's (the rules drop it too)
        glove = resolve_settings({**text, "glove": glove})["glove"]
        with pytest.raises(ValueError,
                           match=r"glove\.txt:1: expected a word and 300 numbers, found 299"):
            lookup_glove(["the", "person"], glove["source"], glove["path"], glove["dim"])


def test_failed_text_stage_leaves_no_outputs(tmp_path):
    samples = [pretagged(1, "red circle jumps", "JJ NN VBZ")]
    samples_in, samples_out = write_splits(tmp_path, {split: samples for split in SPLITS})
    glove = tmp_path / "glove.txt"
    glove.write_text("red 1 2\ncircle 1\n", encoding="utf-8")  # line 2 lost a number
    with pytest.raises(ValueError, match=r"glove\.txt:2"):
        build_text(samples_in, samples_out, tmp_path / "text/vocab.json", tmp_path / "text/emb.npy",
                   {"glove": {"source": "file", "path": str(glove), "dim": 2}})
    assert not (tmp_path / "samples").exists() and not (tmp_path / "text").exists()
