"""CPL's network: SCN's two transformer stacks, read twice.

Pass 1 (proposal generation) encodes the query with the word stack and decodes the video, with
a learnable prediction vector after its last clip, against it with the video stack; the state at
that vector gives N (centre, width) pairs through a linear layer and a sigmoid. Pass 2 (semantic
completion) encodes the video's sampled positions with the video stack and decodes the query,
some words hidden, with the word stack; a mask over the positions reweights both the video's
self-attention and the words' attention to the video, so each mask is one reading of the video:
a proposal, a negative, or (no mask) the whole video. Reweighting softmax attention by a mask g
and renormalising is adding log g to the logits: that is how the masks enter (Backbone.run's
biases), for all masks of a batch in one pass.
"""

from __future__ import annotations

import torch
from torch import nn

from wsmr.methods.precision import in_float32
from wsmr.methods.scn.model import Backbone, padding_mask

LOG_FLOOR = 1e-10          # the authors' epsilon: a zero weight is very small, not -inf


def key_bias(masks: torch.Tensor, heads: int, queries: int) -> torch.Tensor:
    """(R * heads, queries, P) additive attention bias log(mask) from (R, P) masks over keys."""
    bias = torch.log(masks + LOG_FLOOR)
    return (bias[:, None, None, :].expand(-1, heads, queries, -1)
            .reshape(-1, queries, masks.shape[1]))


class CPLNetwork(nn.Module):
    def __init__(self, embeddings: torch.Tensor, feature_dim: int, s: dict):
        super().__init__()
        self.glove = nn.Embedding.from_pretrained(embeddings, freeze=True)
        # the authors' attention drops no weights (their attention modules' dropout is 0)
        self.backbone = Backbone(feature_dim, embeddings.shape[1], s["hidden"], s["heads"],
                                 s["layers"], s["dropout"], attention_dropout=0.0)
        self.start_vector = nn.Parameter(torch.zeros(s["hidden"]))        # before the words
        self.prediction_vector = nn.Parameter(torch.zeros(s["hidden"]))   # after the last clip
        self.gaussian_head = nn.Linear(s["hidden"], 2 * s["proposals"])
        self.predictor = nn.Linear(s["hidden"], embeddings.shape[0])
        self.proposals, self.heads, self.causal = s["proposals"], s["heads"], s["causal"]

    def with_start(self, words: torch.Tensor) -> torch.Tensor:
        """The start vector, then the projected words."""
        start = self.start_vector.expand(words.shape[0], 1, -1)
        return torch.cat([start, words], dim=1)

    def propose(self, video, n_clips, words, n_words) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N) centres and widths, fractions of each video."""
        m = self.backbone
        query = self.with_start(m.words(self.glove(words)))
        query_padding = padding_mask(n_words + 1, query.shape[1])
        query = m.run(m.word_stack, query, query_padding, causal=self.causal)
        clips = m.clips(video)
        clips = torch.cat([clips, torch.zeros_like(clips[:, :1])], dim=1)
        at_end = torch.arange(clips.shape[1], device=clips.device)[None, :] == n_clips[:, None]
        clips = torch.where(at_end[..., None], self.prediction_vector, clips)
        states = m.run(m.video_stack, clips, padding_mask(n_clips + 1, clips.shape[1]), query,
                       query_padding, causal=self.causal)
        state = states[torch.arange(len(n_clips), device=states.device), n_clips]
        # centres and widths in float32 under autocast: they place the masks that are ranked
        params = torch.sigmoid(in_float32(self.gaussian_head, state)).view(-1, self.proposals, 2)
        return params[..., 0], params[..., 1]

    def masked_query(self, words, hidden) -> torch.Tensor:
        """(B, L, d) what the decoder reads: the start vector, then the words shifted right with
        the `hidden` ones replaced by the mask vector (teacher forcing)."""
        m = self.backbone
        query = m.words(self.glove(words))
        query = torch.where(hidden[..., None], m.mask_vector.expand_as(query), query)
        return self.with_start(query)[:, :-1]

    def complete(self, positions, masks, words, n_words, hidden) -> torch.Tensor:
        """(B, M, L, V) word logits of every reading: `positions` (B, P, d) the projected clips at
        the sampled positions, `masks` (B, M, P) weights over them (1 everywhere: the whole
        video)."""
        m = self.backbone
        batch, readings, length = masks.shape[0], masks.shape[1], words.shape[1]
        masks = masks.flatten(0, 1)
        video = positions.repeat_interleave(readings, dim=0)
        video = m.run(m.video_stack, video, None, causal=self.causal,
                      bias=key_bias(masks, self.heads, video.shape[1]))
        query = self.masked_query(words, hidden).repeat_interleave(readings, dim=0)
        padding = padding_mask(n_words, length).repeat_interleave(readings, dim=0)
        decoded = m.run(m.word_stack, query, padding, video, None, causal=True,
                        memory_bias=key_bias(masks, self.heads, length))
        # float32 under autocast: these losses rank the proposals and pick the positive
        return in_float32(self.predictor, decoded).view(batch, readings, length, -1)

    def sampled_clips(self, video, index) -> torch.Tensor:
        """(B, P, d) the projected clips at `index` (B, P)."""
        clips = self.backbone.clips(video)
        return clips.gather(1, index[..., None].expand(-1, -1, clips.shape[-1]))
