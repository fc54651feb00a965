"""The other-query control's rewrite: same video, another moment, ground truth kept."""

from wsmr.controls import other_query_samples


def query(qid, vid, start, end, sentence):
    return {"qid": qid, "vid": vid, "duration": 30.0, "start": start, "end": end,
            "sentence": sentence, "tokens": sentence.split(), "tags": ["X"] * len(sentence.split())}


def test_each_query_takes_the_words_of_another_moment_of_its_video():
    rows = [query("a1", "v", 0, 10, "red circle rises"),
            query("a2", "v", 0, 10, "a red circle rises"),
            query("b1", "v", 10, 20, "blue circle rises"),
            query("c1", "v", 20, 30, "red circle grows")]
    rewritten, report = other_query_samples(rows)
    by_qid = {r["qid"]: r for r in rewritten}
    assert set(by_qid) == {"a1", "a2", "b1", "c1"}
    for original in rows:
        new = by_qid[original["qid"]]
        assert ((new["vid"], new["start"], new["end"])
                == (original["vid"], original["start"], original["end"]))
        donor = next(r for r in rows if r["qid"] == new["donor_qid"])
        assert donor["vid"] == original["vid"]
        assert (donor["start"], donor["end"]) != (original["start"], original["end"])
        assert new["sentence"] == donor["sentence"] and new["tokens"] == donor["tokens"]
        assert new["tags"] == donor["tags"]
    # moments are disjoint: ties go to the next moment in order, cycling
    assert by_qid["a1"]["donor_qid"] == "b1" and by_qid["a2"]["donor_qid"] == "b1"
    assert by_qid["c1"]["donor_qid"] == "a1"
    assert report == {"queries": 4, "rewritten": 4, "left_out_queries": 0, "left_out_videos": 0}


def test_the_donor_is_the_moment_that_overlaps_least():
    rows = [query("a", "v", 0, 10, "one"), query("b", "v", 1, 10, "nearly the same moment"),
            query("c", "v", 20, 30, "far away")]
    by_qid = {r["qid"]: r for r in other_query_samples(rows)[0]}
    assert by_qid["a"]["donor_qid"] == "c" and by_qid["b"]["donor_qid"] == "c"
    assert by_qid["c"]["donor_qid"] == "a"


def test_single_moment_videos_are_counted_and_left_out():
    rows = [query("a", "v", 0, 10, "one"), query("a2", "v", 0, 10, "same moment, other words"),
            query("b", "w", 0, 5, "x"), query("c", "w", 5, 9, "y")]
    rewritten, report = other_query_samples(rows)
    assert [r["qid"] for r in rewritten] == ["b", "c"]
    assert report == {"queries": 4, "rewritten": 2, "left_out_queries": 2, "left_out_videos": 1}
