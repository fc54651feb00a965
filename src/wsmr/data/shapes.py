"""The `shapes` dataset: rendered H.264 videos of coloured shapes acting, with their sentences.

Built to be learnable *weakly*, and solvable only by reading the query (docs/shapes.md):
- an object is drawn only while its event runs (it appears, acts, leaves), big and centred,
  because seeded-init C3D keeps what comes and goes with an event, not which object moves;
- a video's events are minimal pairs: the actor A does two actions, and an object B that
  differs from A in one attribute only (colour or shape) repeats A's first action, so any
  proposal wider than the described event makes some masked word ambiguous;
- events follow each other with no idle time between them: an idle stretch would let a
  proposal grow past its event for free, and reconstruction would not tell the two apart;
- one verb names each action, and paraphrases differ only in function words, so the words SCN
  hides most (nouns and verbs) are the ones the clips decide, not a paraphrase's coin toss;
- event lengths differ clearly (from about a tenth to a half of the video);
- with `layout: stream` (config.yaml's), the video is a window cut at a random phase from an
  endless run of back-to-back events, so where a described moment lies says nothing about
  which one it is: a query-blind window gains as little over Random as any layout can
  (docs/shapes.md measures it). `layout: tiled` is the earlier design (3 events from the first
  frame to the last), which the feature-level twin of the tests still uses.

Outputs follow Charades-STA (`vid start end##sentence`, a durations CSV with `id,length`), so
the dataset enters the pipeline through the Charades reader, plus the part-of-speech tags of
every sentence (the grammar knows them) and one record per event for probes.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np

from wsmr.defaults import GENERATOR
from wsmr.io import atomic_path, write_json, write_jsonl, write_text

log = logging.getLogger("wsmr.shapes")

COLOURS = {"red": (225, 45, 40), "green": (40, 200, 70), "blue": (50, 100, 235),
           "yellow": (235, 215, 40)}
SHAPES = ("circle", "square", "triangle")
BACKGROUND = (22, 22, 28)

# One verb names each action. A video's actor does one action of each kind (a movement and a
# change of size): seeded-init C3D keeps little of how an object moves, so its two events differ
# in the kind of change, not only in its direction.
VERBS = {"up": "rises", "down": "falls", "grow": "grows", "shrink": "shrinks"}
ACTION_KINDS = (("up", "down"), ("grow", "shrink"))
# Paraphrases as (template, Penn Treebank tags): they differ only in function words.
TEMPLATES = (("{det} {colour} {shape} {verb}", "DT JJ NN VBZ"),
             ("{det} {shape} that is {colour} {verb}", "DT NN WDT VBZ JJ VBZ"))
DETERMINERS = ("a", "the")

CYCLE_S = 2.0        # one motion cycle: one C3D clip (16 frames at 8 fps) sees a whole cycle
TRAVEL = 0.22        # half the distance travelled in a cycle, as a share of the frame height
RADIUS = (0.14, 0.17)  # object radius range, as a share of the frame height
MIN_LENGTH_RATIO = 1.4  # events' lengths differ at least this much from each other
EVENT_WEIGHT = (0.08, 0.5)  # events' relative lengths are drawn from this range...
MAX_SHARE = 0.55            # ...and none covers more than this share of its video


@dataclass
class Event:
    vid: str
    split: str
    colour: str
    shape: str
    radius: float
    action: str
    start_frame: int
    end_frame: int   # exclusive
    fps: int
    queried: bool = True   # described by queries (stream: an event cut by an edge may not be)

    @property
    def start(self) -> float:
        return self.start_frame / self.fps

    @property
    def end(self) -> float:
        return self.end_frame / self.fps


def event_shares(rng: np.random.Generator, n: int) -> np.ndarray:
    """Shares of the video for n events that fill it, of clearly different lengths."""
    while True:
        shares = rng.uniform(*EVENT_WEIGHT, size=n)
        shares /= shares.sum()
        ordered = np.sort(shares)
        if ordered[-1] <= MAX_SHARE and np.all(ordered[1:] / ordered[:-1] >= MIN_LENGTH_RATIO):
            return shares


def minimal_pair_objects(rng: np.random.Generator) -> tuple[tuple[str, str], tuple[str, str]]:
    """An actor and a second object that differs from it in exactly one attribute."""
    colours, shapes = list(COLOURS), list(SHAPES)
    actor = (colours[rng.integers(len(colours))], shapes[rng.integers(len(shapes))])
    if rng.random() < 0.5:
        other = ([c for c in colours if c != actor[0]][rng.integers(len(colours) - 1)], actor[1])
    else:
        other = (actor[0], [s for s in shapes if s != actor[1]][rng.integers(len(shapes) - 1)])
    return actor, other


def plan_video(rng: np.random.Generator, vid: str, split: str, gen: dict
               ) -> tuple[int, list[Event]]:
    """Frame count and the events of one video, back to back, as the layout arranges them."""
    return LAYOUTS[gen.get("layout", GENERATOR["layout"])](rng, vid, split, gen)


def plan_tiled(rng: np.random.Generator, vid: str, split: str, gen: dict
               ) -> tuple[int, list[Event]]:
    """`events_per_video` events filling the video from its first frame to its last."""
    fps, n_events = gen["fps"], gen["events_per_video"]
    n_frames = int(round(rng.uniform(*gen["duration_s"]) * fps))
    actor, other = minimal_pair_objects(rng)
    first, second = (kind[rng.integers(len(kind))] for kind in rng.permutation(ACTION_KINDS))
    roles = [(actor, first), (actor, second), (other, first), (other, second)][:n_events]
    roles = [roles[i] for i in rng.permutation(n_events)]
    # a tuple, not a set: a set's order varies by process
    radii = {obj: rng.uniform(*RADIUS) for obj in (actor, other)}
    bounds = np.round(np.r_[0.0, np.cumsum(event_shares(rng, n_events))] * n_frames).astype(int)
    return n_frames, [Event(vid, split, colour, shape, radii[(colour, shape)], str(action),
                            int(start), int(end), fps)
                      for ((colour, shape), action), start, end
                      in zip(roles, bounds[:-1], bounds[1:], strict=True)]


# stream: four objects, each differing from the actor in colour, shape or both, and in every
# video one movement and one change of size that all of them share: any two of its 8 roles
# differ in exactly the words that name them, and no two events of a video read the same.
STREAM_ROLES = 8


def stream_objects(rng: np.random.Generator) -> list[tuple[str, str]]:
    """The actor, one object of another colour, one of another shape, and one of both."""
    colours, shapes = list(COLOURS), list(SHAPES)
    colour, other_colour = (colours[i] for i in rng.choice(len(colours), 2, replace=False))
    shape, other_shape = (shapes[i] for i in rng.choice(len(shapes), 2, replace=False))
    return [(colour, shape), (other_colour, shape), (colour, other_shape),
            (other_colour, other_shape)]


def stream_shares(rng: np.random.Generator, low: float, high: float) -> list[tuple[float, float]]:
    """(start, end) as shares of the video of the events a window at a random phase cuts from a
    run of back-to-back events with log-uniform lengths; the first and last may stick out."""
    while True:
        t, events = None, []
        while t is None or t < 1.0:
            length = float(np.exp(rng.uniform(np.log(low), np.log(high))))
            t = -rng.uniform(0, length) if t is None else t   # the video opens inside an event
            events.append((t, t + length))
            t += length
        if len(events) <= STREAM_ROLES:
            return events


def plan_stream(rng: np.random.Generator, vid: str, split: str, gen: dict
                ) -> tuple[int, list[Event]]:
    """A window onto an endless run of events: no idle time, and no fixed place for a moment.

    Events wholly inside the video are described. One cut by the video's start or end is shown
    for its visible part, and described with probability `edge_query_p` when that part is at
    least the shortest event's length: described always, edges would favour windows at the
    video's ends; never, its middle (docs/shapes.md)."""
    fps = gen["fps"]
    n_frames = int(round(rng.uniform(*gen["duration_s"]) * fps))
    low, high = gen["event_share"]
    movement, size = (kind[rng.integers(len(kind))] for kind in ACTION_KINDS)
    roles = [(obj, action) for obj in stream_objects(rng) for action in (movement, size)]
    radii = {obj: rng.uniform(*RADIUS) for obj, _ in roles[::2]}
    shares = stream_shares(rng, low, high)
    order = rng.permutation(STREAM_ROLES)[:len(shares)]
    events = []
    for k, (start, end) in zip(order, shares, strict=True):
        (colour, shape), action = roles[k]
        first, last = (int(round(np.clip(x, 0.0, 1.0) * n_frames)) for x in (start, end))
        cut = start < 0 or end > 1
        queried = (not cut) or (rng.random() < gen["edge_query_p"]
                                and (last - first) >= low * n_frames)
        if last > first:
            events.append(Event(vid, split, colour, shape, radii[(colour, shape)], str(action),
                                first, last, fps, bool(queried)))
    return n_frames, events


LAYOUTS = {"tiled": plan_tiled, "stream": plan_stream}


def object_mask(shape: str, cx: float, cy: float, r: float, height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    if shape == "circle":
        return (x - cx) ** 2 + (y - cy) ** 2 <= r ** 2
    if shape == "square":
        side = 0.85 * r
        return (np.abs(x - cx) <= side) & (np.abs(y - cy) <= side)
    # an upright triangle inside the circle of radius r
    top, bottom = cy - r, cy + 0.7 * r
    half_width = (y - top) / (bottom - top) * 0.95 * r
    return (y >= top) & (y <= bottom) & (np.abs(x - cx) <= half_width)


def object_state(event: Event, frame: int, height: int) -> tuple[float, float]:
    """Vertical offset from the centre and radius of an event's object at a frame."""
    tau = (frame - event.start_frame) / event.fps
    phase = (tau / CYCLE_S) % 1.0        # a sawtooth: the motion repeats every cycle
    sweep = TRAVEL * height * (1 - 2 * phase)  # from +travel to -travel
    r = event.radius * height
    dy = {"up": sweep, "down": -sweep}.get(event.action, 0.0)
    if event.action == "grow":
        r *= 0.5 + 0.8 * phase
    elif event.action == "shrink":
        r *= 1.3 - 0.8 * phase
    return dy, r


def render_frames(n_frames: int, events: list[Event], height: int, width: int):
    """Yield the RGB frames of a video: background, and each event's object while it runs."""
    for frame in range(n_frames):
        image = np.empty((height, width, 3), np.uint8)
        image[:] = BACKGROUND
        for event in events:
            if event.start_frame <= frame < event.end_frame:
                dy, r = object_state(event, frame, height)
                mask = object_mask(event.shape, width / 2, height / 2 + dy, r, height, width)
                image[mask] = COLOURS[event.colour]
        yield image


def write_video(path: Path, frames, fps: int, height: int, width: int) -> None:
    """Encode frames as H.264 in an .mp4, atomically; x264 on one thread is bit-reproducible."""
    with atomic_path(path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=fps,
                                          options={"crf": "18", "preset": "veryfast"})
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.thread_count = 1
            for image in frames:
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                container.mux(stream.encode(frame))
            container.mux(stream.encode())


def describe(event: Event, rng: np.random.Generator, n: int) -> list[tuple[list[str], list[str]]]:
    """n distinct paraphrases of an event, each as (tokens, tags)."""
    options = [(det, template) for det in DETERMINERS for template in TEMPLATES]
    sentences = []
    for k in rng.choice(len(options), size=min(n, len(options)), replace=False):
        det, (template, tags) = options[k]
        words = template.format(det=det, colour=event.colour, shape=event.shape,
                                verb=VERBS[event.action])
        sentences.append((words.split(), tags.split()))
    return sentences


@dataclass(frozen=True)
class ShapesFiles:
    """Where a rendering goes: each split's annotation file (Charades-STA format), the durations
    CSV, the tags that come with the sentences, the event records, the videos' folder."""
    annotations: dict[str, Path]
    durations: Path
    tags: Path
    events: Path
    videos: Path

    @classmethod
    def under(cls, folder: str | Path, dataset: str, splits) -> ShapesFiles:
        """All in one folder, named after the dataset (`shapes_sta_train.txt`, ...)."""
        folder = Path(folder)
        return cls({split: folder / f"{dataset}_sta_{split}.txt" for split in splits},
                   folder / f"{dataset}_durations.csv", folder / f"{dataset}_tags.json",
                   folder / f"{dataset}_events.jsonl", folder / "videos")


def generate(out: ShapesFiles | str | Path, gen: dict, dataset: str = "shapes") -> dict:
    """Render every video and write annotations, durations, tags and event records to `out`'s
    files (a folder: `ShapesFiles.under` it)."""
    files = out if isinstance(out, ShapesFiles) else ShapesFiles.under(out, dataset, gen["videos"])
    if set(files.annotations) != set(gen["videos"]):
        raise ValueError(f"annotation files for splits {sorted(files.annotations)}, but the "
                         f"generator renders {sorted(gen['videos'])}")
    video_dir = Path(files.videos)
    video_dir.mkdir(parents=True, exist_ok=True)
    lines = {split: [] for split in gen["videos"]}
    durations, tagged, records = [], {}, []
    for split_index, (split, n_videos) in enumerate(gen["videos"].items()):
        for i in range(n_videos):
            vid = f"{dataset}_{split}_{i:03d}"
            # seeded per video, so adding videos to a split leaves the others unchanged
            rng = np.random.default_rng([gen["seed"], split_index, i])
            n_frames, events = plan_video(rng, vid, split, gen)
            write_video(video_dir / f"{vid}.mp4",
                        render_frames(n_frames, events, gen["height"], gen["width"]),
                        gen["fps"], gen["height"], gen["width"])
            durations.append((vid, n_frames / gen["fps"]))
            for event in events:
                records.append({**asdict(event), "start": event.start, "end": event.end})
                if not event.queried:
                    continue
                for tokens, tags in describe(event, rng, gen["queries_per_event"]):
                    sentence = " ".join(tokens)
                    tagged[sentence] = {"tokens": tokens, "tags": tags}
                    lines[split].append(f"{vid} {event.start:.3f} {event.end:.3f}##{sentence}\n")
    for split, split_lines in lines.items():
        write_text(files.annotations[split], "".join(split_lines))
    write_text(files.durations, durations_csv(durations))
    write_json(files.tags, tagged)
    write_jsonl(files.events, records)
    summary = {"videos": len(durations), "events": len(records),
               "queries": {split: len(v) for split, v in lines.items()}}
    log.info("rendered %s", summary)
    return summary


def durations_csv(durations: list[tuple[str, float]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["id", "length"])
    writer.writerows((vid, f"{seconds:.3f}") for vid, seconds in durations)
    return buffer.getvalue()
