"""Decoding videos into C3D's input: 16-frame clips every 8 frames, 112x112, at the video's own fps.

C3D (Tran et al. 2015) was trained on frames resized to 128x171 (height x width, whatever the
source aspect) and centre-cropped to 112x112; the Sports-1M mean is subtracted in
`wsmr.video.c3d.normalise`, on the batch. Clip i starts at frame i * stride, and there are
ceil(n_frames / stride) clips, so every frame is seen and the clips tile the whole video:
clips that run past the last frame (and a video shorter than one clip) repeat the last frame.
A clip's seconds are those of the real frames it sees: [i * stride, min(i * stride + 16, n)) / fps.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from wsmr.features.store import CLIP_FRAMES, STRIDE_FRAMES

RESIZE_HW = (128, 171)
CROP = 112
# a container's declared frame count may be off by a frame or two; more than this is truncation
TRUNCATION_TOLERANCE = 0.02


class BadVideo(Exception):
    """A video that cannot give features: missing, corrupt, truncated or empty."""

    def __init__(self, vid: str, reason: str):
        super().__init__(f"video {vid}: {reason}")
        self.vid, self.reason = vid, reason


@dataclass
class VideoInfo:
    vid: str
    fps: float = 0.0   # read from the header when decoding starts
    n_frames: int = 0  # known once decoding has finished

    @property
    def n_clips(self) -> int:
        return n_clips(self.n_frames)

    def clip_seconds(self) -> np.ndarray:
        return clip_seconds(self.n_frames, self.fps)


def n_clips(n_frames: int, stride: int = STRIDE_FRAMES) -> int:
    return max(1, math.ceil(n_frames / stride))


def clip_seconds(n_frames: int, fps: float, clip: int = CLIP_FRAMES,
                 stride: int = STRIDE_FRAMES) -> np.ndarray:
    """(n_clips, 2) start and end seconds of the real frames each clip sees."""
    starts = np.arange(n_clips(n_frames, stride)) * stride
    ends = np.minimum(starts + clip, n_frames)
    return (np.stack([starts, ends], axis=1) / fps).astype(np.float32)


def centre_crop(image: np.ndarray, size: int = CROP) -> np.ndarray:
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return image[top:top + size, left:left + size]


def decode_frames(path: Path, info: VideoInfo) -> Iterator[np.ndarray]:
    """Yield (112, 112, 3) uint8 RGB frames; `info` gets the fps from the header and counts the
    frames as they come.

    Errors from FFmpeg, a missing file, no frames at all, or fewer frames than the header
    declares (a truncated file) are `BadVideo`, naming the video.
    """
    if not path.is_file():
        raise BadVideo(info.vid, f"file not found: {path}")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadVideo(info.vid, f"no video stream in {path}")
            stream = container.streams.video[0]
            declared = stream.frames
            info.fps = float(stream.average_rate or stream.guessed_rate or 0)
            if not info.fps:
                raise BadVideo(info.vid, f"no frame rate in the header of {path}")
            for frame in container.decode(stream):
                image = frame.reformat(width=RESIZE_HW[1], height=RESIZE_HW[0], format="rgb24",
                                       interpolation="BILINEAR").to_ndarray()
                info.n_frames += 1
                yield centre_crop(image)
    except (av.FFmpegError, OSError) as err:
        raise BadVideo(info.vid, f"cannot decode {path} ({err})") from err
    if info.n_frames == 0:
        raise BadVideo(info.vid, f"no frames in {path} (zero-length video)")
    if declared and info.n_frames < declared * (1 - TRUNCATION_TOLERANCE):
        raise BadVideo(info.vid, f"decoded {info.n_frames} of the {declared} frames its header "
                                 f"declares: truncated? ({path})")


def clips(frames: Iterator[np.ndarray], clip: int = CLIP_FRAMES,
          stride: int = STRIDE_FRAMES) -> Iterator[np.ndarray]:
    """Yield (clip, H, W, 3) windows every `stride` frames, padding past the end with the last
    frame, ceil(n / stride) of them; only `clip` frames are held at a time."""
    window: deque[np.ndarray] = deque(maxlen=clip)
    n = 0
    for n, frame in enumerate(frames, start=1):
        window.append(frame)
        if n >= clip and (n - clip) % stride == 0:
            yield np.stack(window)
    if n == 0:
        return
    # the clips starting at frame s with s + clip > n: real frames s..n-1, then padding
    first_padded = 0 if n < clip else (n - clip) // stride * stride + stride
    frames_seen = list(window)  # the last min(n, clip) frames, frames n-len .. n-1
    for start in range(first_padded, n_clips(n, stride) * stride, stride):
        real = frames_seen[len(frames_seen) - (n - start):]
        yield np.stack(real + [real[-1]] * (clip - len(real)))


def video_clips(vid: str, path: Path) -> tuple[VideoInfo, Iterator[np.ndarray]]:
    """The video's clips, and its info, complete once the clips are exhausted."""
    info = VideoInfo(vid)
    return info, clips(decode_frames(path, info))
