"""The other-query control: does a method read the query, or only the video?

Each test query is given the words (sentence, tokens, tags) of a query about another moment of
the same video, and keeps its own ground truth. A method that grounds the sentence loses its
R@1 under this rewrite; a method that finds *an* event whatever the words keeps it. The donor
moment is the one that overlaps the query's own moment least (on `shapes`, events do not
overlap, so any other event; on real data, moments annotated twice with different words
would otherwise make a weak control), ties going to the next moment in annotation order.
Videos with a single annotated moment have no donor: their queries are counted and left out.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from wsmr.evaluation import temporal_iou

TEXT_FIELDS = ("sentence", "tokens", "tags")


def other_query_samples(rows: list[dict]) -> tuple[list[dict], dict]:
    """The rewritten queries (file order kept) and a report of what was left out."""
    moments_of: dict[str, list[tuple[float, float]]] = defaultdict(list)
    queries_of: dict[tuple[str, tuple[float, float]], list[dict]] = defaultdict(list)
    for row in rows:
        moment = (row["start"], row["end"])
        if moment not in moments_of[row["vid"]]:
            moments_of[row["vid"]].append(moment)
        queries_of[(row["vid"], moment)].append(row)
    rewritten, left_out, left_videos = [], 0, set()
    for row in rows:
        moments = moments_of[row["vid"]]
        if len(moments) < 2:
            left_out += 1
            left_videos.add(row["vid"])
            continue
        own = (row["start"], row["end"])
        donors = queries_of[(row["vid"], donor_moment(moments, moments.index(own)))]
        # the j-th query of a moment takes the j-th query of its donor (cycling)
        donor = donors[queries_of[(row["vid"], own)].index(row) % len(donors)]
        rewritten.append({**row, **{k: donor[k] for k in TEXT_FIELDS if k in donor},
                          "donor_qid": donor["qid"]})
    report = {"queries": len(rows), "rewritten": len(rewritten),
              "left_out_queries": left_out, "left_out_videos": len(left_videos)}
    return rewritten, report


def donor_moment(moments: list[tuple[float, float]], own: int) -> tuple[float, float]:
    """The moment of the same video that overlaps moment `own` least."""
    overlaps = temporal_iou(np.asarray(moments), moments[own])
    others = sorted((j for j in range(len(moments)) if j != own),
                    key=lambda j: (overlaps[j], (j - own) % len(moments)))
    return moments[others[0]]
