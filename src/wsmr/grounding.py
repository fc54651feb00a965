"""`wsmr ground`: a trained run asked about any video file and sentence.

The video goes through the run's own input chain, so its features live in the space the method
was trained in: PyAV decoding and C3D with the dataset's weights (or seed) and precision, fc7
rounded to float16 as the shards store it, then the dataset's fitted PCA (`pca.h5`, or the file
`features.pca.path` names, e.g. ActivityNet's official PCA). The sentence is tokenised and tagged
as the text stage does, and encoded with the dataset's vocabulary. Then the method predicts
through the interface the DAG uses (`Method.predict` over `RunInputs`): a one-query samples file
and a one-video features file in a temporary folder, the run's selected checkpoint. So every
registered method can ground, Random and the baselines that read only samples included.

Words outside the vocabulary are an error naming them, unless `allow_unk`: training mapped the
words beyond its vocabulary to `<unk>` too, but a word the method never saw cannot steer it.
"""

from __future__ import annotations

import logging
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from wsmr import config as wcfg
from wsmr.io import read_json, write_jsonl

log = logging.getLogger("wsmr.ground")

RUN_PATH = re.compile(r"(?P<results>.*?)/?(?P<dataset>[^/]+)/runs/(?P<method>[^/]+)/"
                      r"(?P<variant>[^/]+)/seed(?P<seed>\d+)/?$")
EVERY_CANDIDATE = 10 ** 6   # top_n when asking a method for all its scored candidates
QID = "query"


class GroundingError(ValueError):
    """A video, sentence or run that cannot be grounded, said in the user's terms."""


@dataclass(frozen=True)
class Run:
    """A run directory, `results/{dataset}/runs/{method}/{variant}/seed{n}`."""

    path: Path
    dataset: str
    method: str
    variant: str
    seed: int

    @property
    def dataset_dir(self) -> Path:
        return self.path.parents[3]

    @classmethod
    def parse(cls, path: str | Path) -> Run:
        match = RUN_PATH.match(Path(path).as_posix())
        if not match:
            raise GroundingError(f"{path}: not a run directory "
                                 "(results/{dataset}/runs/{method}/{variant}/seed{n})")
        run = cls(Path(path), match["dataset"], match["method"], match["variant"],
                  int(match["seed"]))
        if not (run.path / "checkpoint.pt").is_file():
            raise GroundingError(f"{path}: the run has no checkpoint.pt: train it first "
                                 f"(snakemake {run.path / 'checkpoint.pt'})")
        return run


def load_config(configfiles: list[str | Path]) -> dict:
    """config.yaml, then each --configfile merged over it key by key, as Snakemake does."""
    config: dict = {}
    for path in configfiles:
        if not Path(path).is_file():
            raise GroundingError(f"{path}: config file not found (run from the repository, or "
                                 "pass --configfile)")
        config = wcfg.deep_merge(config, yaml.safe_load(Path(path).read_text()) or {})
    return config


# -- the video ---------------------------------------------------------------------------------
@dataclass
class VideoFeatures:
    features: np.ndarray       # (n_clips, dim) float32, in the run's feature space
    clip_seconds: np.ndarray   # (n_clips, 2)
    duration: float            # seconds: decoded frames / fps
    fps: float
    source: str                # the C3D weights, as the features' `source` attribute says


def pca_file(run: Run, features: dict) -> Path:
    """The PCA a new video's fc7 goes through: `features.pca.path`, else the dataset's own."""
    configured = features.get("pca", {}).get("path")
    path = Path(configured) if configured else run.dataset_dir / "features" / "pca.h5"
    if not path.is_file():
        hint = ("its features came from a pre-extracted file: set features.pca.path to the PCA "
                "they were made with (e.g. ActivityNet's PCA_activitynet_v1-3.hdf5)"
                if features["source"] == "hdf5" else
                f"re-run the PCA stage (snakemake {path})")
        raise GroundingError(f"{path}: no fitted PCA for dataset {run.dataset!r}; {hint}")
    return path


def video_features(video: str | Path, run: Run, ds_cfg: dict) -> VideoFeatures:
    """C3D fc7 of every clip (16 frames every 8), then the dataset's PCA."""
    import torch

    from wsmr.features.pca import project, read_pca
    from wsmr.features.store import CLIP_FRAMES
    from wsmr.training import pick_device
    from wsmr.video.c3d import build_c3d, choose_dtype
    from wsmr.video.decode import BadVideo
    from wsmr.video.extract import fc7_per_video, to_float16

    features = wcfg.features_config(ds_cfg)
    mean, components = read_pca(pca_file(run, features), features["pca_dim"])
    model, source = build_c3d(features.get("weights"), features["seed"],
                              features.get("c3d_width", 1))
    device = pick_device()
    model = model.to(device, memory_format=torch.channels_last_3d)   # as extraction runs it
    [result] = fc7_per_video(model, [(Path(video).stem, Path(video))],
                             batch_size=features["batch_size"], device=device,
                             dtype=choose_dtype(device, features["precision"]))
    if isinstance(result, BadVideo):
        raise GroundingError(str(result))
    info, fc7 = result
    if info.n_frames < CLIP_FRAMES:
        raise GroundingError(f"{video}: {info.n_frames} frames ({info.n_frames / info.fps:.2f} s "
                             f"at {info.fps:g} fps) are too short for one {CLIP_FRAMES}-frame clip")
    fc7 = to_float16(info.vid, fc7).astype(np.float32)      # as the fc7 shards store it
    return VideoFeatures(project(fc7, mean, components), info.clip_seconds(),
                         info.n_frames / info.fps, info.fps, source)


def check_source(run: Run, source: str) -> None:
    """The run's features must come from the same C3D as this video's."""
    from wsmr.features.store import source as features_source

    trained_on = features_source(run.dataset_dir / "features" / "c3d_pca500.h5")
    if trained_on != source and not trained_on.startswith("pre-extracted"):
        raise GroundingError(f"run {run.path} was trained on features from {trained_on}, but the "
                             f"config now gives C3D {source}: use the config it was trained with")


# -- the sentence ------------------------------------------------------------------------------
def query_sample(sentence: str, run: Run, ds_cfg: dict, allow_unk: bool) -> dict:
    """The one query as the text stage writes samples: tokens and tags, capped (the video's
    duration and the moment are filled in by the caller). Words are checked against the
    vocabulary before anything is tagged. A method that reads no text gets the sentence only."""
    from wsmr import methods
    from wsmr.text.stage import add_tokens_and_tags
    from wsmr.text.tokens import lower_case, split_words
    from wsmr.text.vocabulary import read_vocabulary

    sample = {"qid": QID, "vid": QID, "sentence": sentence}
    if "text" not in methods.needs(run.method):
        return sample
    if wcfg.is_generated(ds_cfg):   # its grammar comes with its tags: no NLTK data needed
        known = read_json(run.dataset_dir / "raw" / f"{run.dataset}_tags.json")
        sample.update(known.get(sentence, {}))
    vocab_path = run.dataset_dir / "text" / "vocab.json"
    vocab = read_vocabulary(vocab_path)
    words = sample.get("tokens") or lower_case(split_words(sentence))
    unknown = [word for word in words if word not in vocab]
    if unknown and not allow_unk:
        raise GroundingError(
            f"{', '.join(repr(w) for w in unknown)} not in the vocabulary of {run.dataset!r} "
            f"({len(vocab.plain_words)} words, {vocab_path}); rephrase, or pass --allow-unk "
            "to read them as <unk>")
    add_tokens_and_tags([sample], "the sentence", ds_cfg["text"]["max_words"])
    return sample


# -- the method --------------------------------------------------------------------------------
def every_candidate(settings: dict) -> dict:
    """The method's settings with NMS off and no cap on the moments: all candidates, scored."""
    wide = dict(settings)
    if "top_n" in wide:
        wide["top_n"] = EVERY_CANDIDATE
    for key in ("nms", "test_nms"):
        if key in wide:
            wide[key] = 1.0   # NMS drops IoU > threshold: nothing is dropped
    return wide


def predict(run: Run, config: dict, sample: dict, video: VideoFeatures | None
            ) -> tuple[dict, dict]:
    """(the method's top moments, every candidate it scores) for the query."""
    import json

    from wsmr import methods
    from wsmr.features import store
    from wsmr.methods.base import Job, RunInputs

    spec = json.loads(wcfg.job_settings(config, run.dataset, run.method, run.variant))
    needs = methods.needs(run.method)
    with tempfile.TemporaryDirectory(prefix="wsmr-ground-") as tmp:
        samples = Path(tmp) / "query.jsonl"
        write_jsonl(samples, [sample])
        inputs = RunInputs(samples={split: samples for split in wcfg.SPLITS})
        if "features" in needs:
            inputs.features = Path(tmp) / "features.h5"
            with store.create(inputs.features, clip_length=store.CLIP_FRAMES,
                              stride=store.STRIDE_FRAMES, source=video.source) as h5:
                store.put(h5, QID, video.features, video.clip_seconds, video.fps)
                store.finish(h5, {})
        if "text" in needs:
            inputs.vocab = run.dataset_dir / "text" / "vocab.json"
            inputs.embeddings = run.dataset_dir / "text" / "embeddings.npy"
        results = []
        for settings in (spec["settings"], every_candidate(spec["settings"])):
            job = Job(dataset=spec["dataset"], method=run.method, variant=run.variant,
                      settings=settings, seed=run.seed)
            [prediction] = methods.load(run.method)(job).predict(inputs, run.path, "test")
            results.append(prediction)
    return results[0], results[1]


@dataclass
class Grounding:
    sentence: str
    video: str
    duration: float
    run: str
    moments: list[list[float]]        # the method's top-n, best first (seconds)
    scores: list[float]
    candidates: list[list[float]]     # every candidate it scored, for the timeline
    candidate_scores: list[float]
    gt: tuple[float, float] | None = None

    def summary(self) -> dict:
        from wsmr.evaluation import temporal_iou

        top = [{"rank": i + 1, "start": m[0], "end": m[1], "score": s}
               for i, (m, s) in enumerate(zip(self.moments, self.scores, strict=True))]
        if self.gt:
            for row, iou in zip(top, temporal_iou(np.asarray(self.moments), self.gt), strict=True):
                row["iou"] = round(float(iou), 4)
        return {"video": self.video, "sentence": self.sentence, "run": self.run,
                "duration": round(self.duration, 3), "moments": top,
                **({"gt": list(self.gt)} if self.gt else {})}


def ground(run_dir: str | Path, video: str | Path, sentence: str, config: dict, *,
           gt: tuple[float, float] | None = None, allow_unk: bool = False,
           features: VideoFeatures | None = None) -> Grounding:
    """Ground `sentence` in `video` with the run's method. `features`: the video's, when
    already computed (another sentence, or a dataset video's row of its features file, which
    the same chain made: `stored_features`); else C3D and the PCA run on the video."""
    from wsmr import methods

    run = Run.parse(run_dir)
    if run.dataset not in config.get("datasets", {}):
        raise GroundingError(f"dataset {run.dataset!r} of {run_dir} is not in the config")
    ds_cfg = config["datasets"][run.dataset]
    if not Path(video).is_file():
        raise GroundingError(f"{video}: video file not found")
    sample = query_sample(sentence, run, ds_cfg, allow_unk)   # before C3D: fail fast
    if "features" not in methods.needs(run.method):
        features = None
    elif features is None:
        features = video_features(video, run, ds_cfg)
    if features is not None:
        check_source(run, features.source)
    duration = features.duration if features else probe_duration(video)
    if gt and not 0 <= gt[0] < gt[1] <= duration + 1e-6:
        raise GroundingError(f"--gt {gt[0]} {gt[1]}: not a moment inside the video (0 to "
                             f"{duration:.2f} s)")
    # without a ground truth the query's moment is the whole video: nothing reads it
    sample.update(duration=duration, start=gt[0] if gt else 0.0, end=gt[1] if gt else duration)
    top, every = predict(run, config, sample, features)
    return Grounding(sentence, str(video), duration, str(run.path), top["moments"],
                     top["scores"], every["moments"], every["scores"], gt)


def stored_features(path: str | Path, vid: str) -> VideoFeatures:
    """A dataset video's row of the features contract."""
    import h5py

    with h5py.File(path, "r") as h5:
        if vid not in h5:
            raise GroundingError(f"{path}: no features for video {vid}")
        row = h5[vid]
        seconds = np.asarray(row.attrs["clip_seconds"], np.float64)
        return VideoFeatures(np.asarray(row, np.float32), seconds, float(seconds[-1, 1]),
                             float(row.attrs["fps"]), str(h5.attrs["source"]))


def probe_duration(video: str | Path) -> float:
    """Decoded frames / fps, for methods that read no video features (Random, priors)."""
    from wsmr.video.decode import BadVideo, VideoInfo, decode_frames

    info = VideoInfo(Path(video).stem)
    try:
        for _ in decode_frames(Path(video), info):
            pass
    except BadVideo as bad:
        raise GroundingError(str(bad)) from None
    return info.n_frames / info.fps
