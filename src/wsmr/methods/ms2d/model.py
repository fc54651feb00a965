"""MS-2D's network: text encoder, multi-scale 2D temporal network, caption module.

- text: frozen GloVe -> BiLSTM; the sentence is the last layer's final states, both directions.
- video: clips -> FC (d_v) -> per scale, N_j segments -> 2D map of max-pooled candidates.
- fusion: (W_T f_T) * (W_M F_M), L2-normalised over channels at every cell; then a stack of
  2D convolutions, each output weighted by `layer_weights` (`conv_mask`: 0/1 on the valid cells,
  or 2D-TAN's reweighting); score map = sigmoid(FC), its logits kept for the losses (BCE from
  logits is the form CUDA autocast accepts).
- caption: LSTM over <bos> + the query (teacher forcing), its states concatenated with a
  candidate's feature, a second LSTM, an FC to the word-embedding space, scored against the
  GloVe vectors: log P(w_l | candidate, w_<l).
The score and word logits are float32 under autocast: they select candidates and set their
pseudo-labels (wsmr.methods.precision).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from wsmr.methods.ms2d.maps import moment_map, resample, valid_cells
from wsmr.methods.precision import in_float32
from wsmr.text.vocabulary import BOS_ID, PAD_ID


class TextEncoder(nn.Module):
    def __init__(self, word_dim: int, dim: int, layers: int):
        super().__init__()
        self.lstm = nn.LSTM(word_dim, dim // 2, num_layers=layers, bidirectional=True,
                            batch_first=True)

    def forward(self, embedded, n_words):
        packed = pack_padded_sequence(embedded, n_words.cpu().clamp(min=1), batch_first=True,
                                      enforce_sorted=False)
        _, (final, _) = self.lstm(packed)
        return torch.cat([final[-2], final[-1]], dim=-1)   # last layer, forward and backward


def layer_weights(valid: torch.Tensor, layers: int, kernel: int, conv_mask: str) -> torch.Tensor:
    """(layers, N, N) what each 2D convolution's output is multiplied by.

    "valid": 1 on the valid cells, 0 elsewhere, after every layer. "tan": 2D-TAN's masked
    convolutions (microsoft/2D-TAN, MapConv): each output is divided by the number of cells of
    its kernel window that were valid going into the layer, and is 0 where there was none; every
    cell with one becomes valid for the next layer, so the mask widens by kernel // 2 cells a
    layer and an output keeps the scale of a mean over its valid neighbours."""
    if conv_mask == "valid":
        return valid.float().expand(layers, -1, -1)
    ones = torch.ones(1, 1, kernel, kernel, device=valid.device)
    mask, weights = valid.float(), []
    for _ in range(layers):
        count = F.conv2d(mask[None, None], ones, padding=kernel // 2)[0, 0].round()
        weights.append(torch.where(count > 0, 1 / count.clamp(min=1), 0.0))
        mask = (count > 0).float()
    return torch.stack(weights) if weights else valid.float().expand(0, -1, -1)


class TemporalNetwork(nn.Module):
    """Fusion and the masked 2D convolutions over one scale's map; shared by every scale."""

    def __init__(self, dim: int, layers: int, kernel: int):
        super().__init__()
        self.text = nn.Linear(dim, dim)
        self.moments = nn.Linear(dim, dim)
        self.convs = nn.ModuleList(nn.Conv2d(dim, dim, kernel, padding=kernel // 2)
                                   for _ in range(layers))
        self.scorer = nn.Conv2d(dim, 1, 1)

    def forward(self, text, moments, valid, weights):
        """text (B, d), moments (B, N, N, d), valid (N, N), each layer's output weights
        (layers, N, N) -> cross-modal features (B, N, N, d), score logits and scores (B, N, N);
        the features and scores are zero outside the valid cells, the logits there are not
        read."""
        fused = F.normalize(self.text(text)[:, None, None, :] * self.moments(moments), dim=-1)
        x = fused.permute(0, 3, 1, 2) * valid
        for conv, weight in zip(self.convs, weights, strict=True):
            x = F.relu(conv(x)) * weight
        x = x * valid
        logits = in_float32(self.scorer, x).squeeze(1)
        return x.permute(0, 2, 3, 1), logits, torch.sigmoid(logits) * valid


class CaptionModule(nn.Module):
    def __init__(self, glove: nn.Embedding, dim: int, hidden: int):
        super().__init__()
        self.glove = glove
        self.words = nn.LSTM(glove.embedding_dim, hidden, batch_first=True)
        self.candidate = nn.Linear(dim, hidden)
        self.fused = nn.LSTM(2 * hidden, hidden, batch_first=True)
        self.to_embedding = nn.Linear(hidden, glove.embedding_dim)
        self.word_bias = nn.Parameter(torch.zeros(glove.num_embeddings))

    def forward(self, candidates, words):
        """(B, C, L, V) log-probabilities of each query word given each candidate (B, C, d)."""
        batch, c = candidates.shape[:2]
        bos = torch.full_like(words[:, :1], BOS_ID)
        states, _ = self.words(self.glove(torch.cat([bos, words[:, :-1]], dim=1)))
        length = states.shape[1]
        fused = torch.cat([states[:, None].expand(-1, c, -1, -1),
                           self.candidate(candidates)[:, :, None].expand(-1, -1, length, -1)], -1)
        decoded, _ = self.fused(fused.flatten(0, 1))
        logits = in_float32(self.word_logits, decoded)
        return logits.log_softmax(-1).view(batch, c, length, -1)

    def word_logits(self, decoded):
        return self.to_embedding(decoded) @ self.glove.weight.T + self.word_bias


class MS2DNetwork(nn.Module):
    def __init__(self, embeddings: torch.Tensor, feature_dim: int, s: dict):
        super().__init__()
        self.scales = list(s["scales"])
        self.glove = nn.Embedding.from_pretrained(embeddings, freeze=True, padding_idx=PAD_ID)
        self.text_encoder = TextEncoder(embeddings.shape[1], s["dim"], s["text_layers"])
        self.clips = nn.Sequential(nn.Linear(feature_dim, s["dim"]), nn.ReLU())
        self.temporal = TemporalNetwork(s["dim"], s["conv_layers"], s["kernel"])
        self.caption = CaptionModule(self.glove, s["dim"], s["caption_hidden"])
        for j, n in enumerate(self.scales):
            valid = valid_cells(n, s["dense_widths"])
            self.register_buffer(f"valid{j}", valid, persistent=False)
            self.register_buffer(f"weights{j}", layer_weights(valid, s["conv_layers"], s["kernel"],
                                                              s["conv_mask"]), persistent=False)

    def valid(self, j: int) -> torch.Tensor:
        return getattr(self, f"valid{j}")

    def forward(self, video, n_clips, words, n_words) -> list[dict]:
        """Per scale: the visual map `moments` (B, N, N, d), the cross-modal features
        `cross_modal` (B, N, N, d), the score map `scores` (B, N, N) and its `logits`."""
        text = self.text_encoder(self.glove(words), n_words)
        clips = self.clips(video)
        outputs = []
        for j, n in enumerate(self.scales):   # a handful of scales, each batched
            moments = moment_map(resample(clips, n_clips, n))
            cross_modal, logits, scores = self.temporal(text, moments, self.valid(j),
                                                        getattr(self, f"weights{j}"))
            outputs.append({"moments": moments, "cross_modal": cross_modal, "logits": logits,
                            "scores": scores})
        return outputs
