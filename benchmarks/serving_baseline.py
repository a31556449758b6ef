"""Baseline A of benchmarks/serving.py: the KServe predictor the tutorials write.

    python benchmarks/serving_baseline.py MODEL_DIR --port P

A plain kserve.Model whose predict runs transformers' AutoModelForSequenceClassification in fp32
on all of a request's candidates at once (padded to the longest), on the event loop, with no
batching across requests, no length buckets, no cache and no quantisation. It reads the same
pairs ours does (product text and the model's stored pair format), so the two rank alike and
differ only in speed. Accepts the v1 shape of the shoprank predictor.
"""

from __future__ import annotations

import argparse
import sys

from kserve import Model, ModelServer


class PlainReranker(Model):
    def __init__(self, name: str, model_dir: str):
        super().__init__(name)
        self.model_dir = model_dir

    def load(self) -> bool:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from shoprank.core.ranking.artifact import hf_model_dir, trained_max_length
        from shoprank.core.text.pair_format import PairFormat

        hf = hf_model_dir(self.model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(hf)
        self.model = AutoModelForSequenceClassification.from_pretrained(hf, num_labels=1).eval()
        self.max_length = trained_max_length(hf)
        self.pair_format = PairFormat.stored(hf)
        self.torch = torch
        self.ready = True
        return True

    def predict(self, payload, headers=None):
        from shoprank.core.text.query_features import format_pairs

        predictions = []
        for instance in payload["instances"]:
            queries, texts = format_pairs([{**c, "query": instance["query"]} for c in instance["candidates"]],
                                          self.pair_format)
            batch = self.tokenizer(queries, texts, padding=True, truncation="longest_first",
                                   max_length=self.max_length, return_tensors="pt")
            with self.torch.no_grad():
                scores = self.model(**batch).logits[:, 0].tolist()
            predictions.append({"scores": scores})
        return {"predictions": predictions}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--name", default="shoprank")
    args, _ = parser.parse_known_args()
    model = PlainReranker(args.name, args.model_dir)
    model.load()
    ModelServer(http_port=args.port, enable_grpc=False, enable_latency_logging=False).start([model])
    return 0


if __name__ == "__main__":
    sys.exit(main())
