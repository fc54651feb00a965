"""SCN's network: transformer encoders/decoders, the proposal scorer, the word predictor.

A `Backbone` is the input projections and two transformer stacks, one per modality: a stack
encodes its modality alone, or decodes it while attending to the other's encoding. The
proposal generation module is Dec_v(v, Enc_q(q)), the semantic completion module
Dec_q(q_hat, Enc_v(v_k)); Enc_v and Dec_v are the video stack, Enc_q and Dec_q the word stack,
as in the authors' code. With `share` (the paper's parameter sharing) the two modules use one
backbone; without it (`no_share`) each module has its own.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from wsmr.methods.precision import in_float32
from wsmr.methods.scn.proposals import sample_clip_positions
from wsmr.text.vocabulary import BOS_ID


def sinusoids(length: int, dim: int, device) -> torch.Tensor:
    position = torch.arange(length, device=device, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, device=device) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim, device=device)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency)
    return table


class Layer(nn.Module):
    """Self-attention, cross-attention to a memory when decoding, feed-forward; post-norm
    residuals."""

    def __init__(self, dim: int, heads: int, dropout: float,
                 attention_dropout: float | None = None, feed_forward: int = 4,
                 feed_forward_dropout: float | None = None):
        """`feed_forward`: the feed-forward's inner width, a multiple of `dim`;
        `attention_dropout` (on the attention weights) and `feed_forward_dropout` (between the
        feed-forward's two layers) default to `dropout`."""
        super().__init__()
        attention_dropout = dropout if attention_dropout is None else attention_dropout
        feed_forward_dropout = dropout if feed_forward_dropout is None else feed_forward_dropout
        self.self_attention = nn.MultiheadAttention(dim, heads, dropout=attention_dropout,
                                                    batch_first=True)
        self.cross_attention = nn.MultiheadAttention(dim, heads, dropout=attention_dropout,
                                                     batch_first=True)
        width = feed_forward * dim
        self.feed_forward = nn.Sequential(nn.Linear(dim, width), nn.ReLU(),
                                          nn.Dropout(feed_forward_dropout),
                                          nn.Linear(width, dim))
        self.norms = nn.ModuleList(nn.LayerNorm(dim) for _ in range(3))
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, padding, memory=None, memory_padding=None, attn_mask=None,
                memory_bias=None):
        """`attn_mask`: a boolean mask or additive float bias on the self-attention's logits;
        `memory_bias`: an additive bias on the cross-attention's (B * heads, L, S)."""
        attended, _ = self.self_attention(x, x, x, key_padding_mask=padding, attn_mask=attn_mask,
                                          need_weights=False)
        x = self.norms[0](x + self.dropout(attended))
        if memory is not None:
            attended, _ = self.cross_attention(x, memory, memory, key_padding_mask=memory_padding,
                                               attn_mask=memory_bias, need_weights=False)
            x = self.norms[1](x + self.dropout(attended))
        return self.norms[2](x + self.dropout(self.feed_forward(x)))


class Backbone(nn.Module):
    """Projections of clips and words into the model's space, and a transformer stack for each."""

    def __init__(self, feature_dim: int, word_dim: int, dim: int, heads: int, layers: int,
                 dropout: float, attention_dropout: float | None = None, feed_forward: int = 4,
                 feed_forward_dropout: float | None = None):
        """`feed_forward`: each layer's feed-forward width, a multiple of `dim`; the dropouts
        as `Layer`'s."""
        super().__init__()
        self.clips = nn.Linear(feature_dim, dim)
        self.words = nn.Linear(word_dim, dim)
        self.mask_vector = nn.Parameter(torch.zeros(dim))   # stands in for a hidden word
        def layer():
            return Layer(dim, heads, dropout, attention_dropout, feed_forward,
                         feed_forward_dropout)
        self.video_stack = nn.ModuleList(layer() for _ in range(layers))
        self.word_stack = nn.ModuleList(layer() for _ in range(layers))
        self.dropout = nn.Dropout(dropout)

    def run(self, stack, x, padding, memory=None, memory_padding=None, causal=False, bias=None,
            memory_bias=None):
        """Encode x with one modality's stack, or decode it attending to `memory`. `bias` and
        `memory_bias` (B * heads, L, S) are added to the attention logits before the softmax:
        a log-weight there reweights the attention over the keys (CPL's Gaussian masks)."""
        x = self.dropout(x + sinusoids(x.shape[1], x.shape[2], x.device))
        attn_mask = None
        if causal:
            attn_mask = torch.ones(x.shape[1], x.shape[1], dtype=torch.bool,
                                   device=x.device).triu(1)
        if bias is not None:
            attn_mask = bias if attn_mask is None else bias.masked_fill(attn_mask, -float("inf"))
        for layer in stack:
            x = layer(x, padding, memory, memory_padding, attn_mask, memory_bias)
        return x


def padding_mask(lengths: torch.Tensor, size: int) -> torch.Tensor:
    """True at padded positions, as nn.MultiheadAttention expects."""
    return torch.arange(size, device=lengths.device)[None, :] >= lengths[:, None]


class SCNNetwork(nn.Module):
    def __init__(self, embeddings: torch.Tensor, feature_dim: int, n_ratios: int, s: dict):
        super().__init__()
        self.glove = nn.Embedding.from_pretrained(embeddings, freeze=True)
        def make():
            return Backbone(feature_dim, embeddings.shape[1], s["hidden"], s["heads"], s["layers"],
                            s["dropout"], s["attention_dropout"], s["feed_forward"],
                            s["feed_forward_dropout"])
        self.proposal_module = make()
        self.completion_module = self.proposal_module if s["share"] else make()
        self.scorer = nn.Linear(s["hidden"], n_ratios)
        self.predictor = nn.Linear(s["hidden"], embeddings.shape[0])
        self.proposal_length = s["proposal_clips"]
        self.causal = s["decoder"] == "causal"
        # the authors' code puts a future mask on every stack, not only the word decoder: a
        # clip's score then reads clips up to its own, where its proposals end
        self.causal_encoders = s["encoders"] == "causal"

    def score_proposals(self, video, n_clips, words, n_words):
        """(B, T * n_k) confidence scores, sigmoid(W c_t + b), c = Dec_v(v, Enc_q(q)); in float32
        under autocast, as they select the proposals."""
        m = self.proposal_module
        word_padding = padding_mask(n_words, words.shape[1])
        query = m.run(m.word_stack, m.words(self.glove(words)), word_padding,
                      causal=self.causal_encoders)
        clips = m.run(m.video_stack, m.clips(video), padding_mask(n_clips, video.shape[1]), query,
                      word_padding, causal=self.causal_encoders)
        return torch.sigmoid(in_float32(self.scorer, clips)).flatten(1)

    def predict_words(self, video, n_clips, bounds, words, n_words, hidden):
        """(B, K, L, V) word logits for each proposal: Dec_q(q_hat, Enc_v(v_k)), where q_hat has
        the `hidden` words replaced; a causal decoder reads <bos> + q_hat shifted right. The
        logits are float32 under autocast: their losses rank the proposals' rewards."""
        m = self.completion_module
        batch, k = bounds.shape[:2]
        positions = sample_clip_positions(bounds, n_clips, self.proposal_length).flatten(1)
        # the proposals' clips are picked before their projection: K x 16 clips, not all 200
        clips = m.clips(video.gather(1, positions[..., None].expand(-1, -1, video.shape[-1])))
        clips = m.run(m.video_stack, clips.view(batch * k, self.proposal_length, -1), None,
                      causal=self.causal_encoders)
        query = m.words(self.glove(words))
        query = torch.where(hidden[..., None], m.mask_vector.expand_as(query), query)
        if self.causal:
            bos = m.words(self.glove.weight[BOS_ID]).expand(batch, 1, -1)
            query = torch.cat([bos, query[:, :-1]], dim=1)
        query = query.repeat_interleave(k, dim=0)
        padding = padding_mask(n_words, query.shape[1]).repeat_interleave(k, dim=0)
        decoded = m.run(m.word_stack, query, padding, clips, None, causal=self.causal)
        return in_float32(self.predictor, decoded).view(batch, k, words.shape[1], -1)
