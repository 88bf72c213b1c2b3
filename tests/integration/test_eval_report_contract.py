"""The ``--json`` contract on the real engine: every key a fixed eval wrote before the typed report
still comes back, and the document (and ``report.json``) satisfies the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "eval-report.schema.json").read_text())

# Captured from `eval agent/examples/mlp.py --dataset digits --seeds 2 --epochs 2 --target 0.9
# --json --out DIR` on main before the report was typed (schema_version 1).
KEYS_BEFORE = {
    "": {"aggregate", "artifacts", "config", "dataset", "flags", "goal", "message", "model", "model_summary",
         "sandbox", "schema_version", "seeds", "status", "timing"},
    "model": {"entry", "path", "sha256"},
    "sandbox": {"backend", "exit_code", "image", "image_labels", "image_tag", "limits", "oom_killed", "runs",
                "runtime", "seccomp_sha256", "stderr_tail", "wall_s", "we_killed"},
    "sandbox.runs[0]": {"exit_code", "oom_killed", "seeds", "status", "wall_s", "we_killed"},
    "seeds[0]": {"best_epoch", "confusion_matrix", "curves", "dynamics", "message", "metrics", "per_class", "seed",
                 "status", "stopped_epoch", "undefined"},
    "aggregate.accuracy": {"ci_high", "ci_high_with_test_noise", "ci_low", "ci_low_with_test_noise", "max", "mean",
                           "min", "n", "std"},
    "goal": {"alpha", "alpha_per_checkpoint", "checkpoint", "decision", "higher_is_better", "lower_bound", "mean",
             "metric", "n", "next_checkpoint", "reason", "target", "upper_bound"},
    "dataset": {"class_names", "fingerprint", "input_shape", "modality", "n_classes", "n_test", "n_train", "n_val",
                "name"},
    "config": {"batch_size", "dataset", "drop_columns", "entry", "epochs", "limits", "lr", "metric", "model_args",
               "optimizer", "parallel_seeds", "seeds", "subset_size", "target", "target_column", "test_size",
               "training"},
    "aggregate": {"accuracy", "balanced_accuracy", "brier", "cohen_kappa", "ece", "f1_macro", "f1_micro",
                  "f1_weighted", "log_loss", "mcc", "pr_auc", "precision_macro", "precision_micro",
                  "precision_weighted", "recall_macro", "recall_micro", "recall_weighted", "roc_auc", "top3_accuracy"},
}


def _at(doc: dict, path: str):
    for part in filter(None, path.replace("[0]", ".0").split(".")):
        doc = doc[int(part)] if part.isdigit() else doc[part]
    return doc


def test_a_fixed_eval_keeps_every_key_and_satisfies_the_schema(sandbox_image, agent_home, tmp_path):
    out = tmp_path / "out"
    result = run_cli("eval", "agent/examples/mlp.py", "--dataset", "digits", "--seeds", "2", "--epochs", "2",
                     "--target", "0.9", "--json", "--out", str(out), home=agent_home)
    assert result.code == 0, result.stderr
    doc = json.loads(result.stdout)
    missing = {path: sorted(keys - set(_at(doc, path))) for path, keys in KEYS_BEFORE.items()
               if keys - set(_at(doc, path))}
    assert missing == {}
    assert doc["schema_version"] == 1
    jsonschema.Draft202012Validator(SCHEMA).validate(doc)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads((out / "report.json").read_text()))
    # the schema is not vacuous: a document without a status, or with an unknown one, fails it
    for broken in ({k: v for k, v in doc.items() if k != "status"}, doc | {"status": "great"}):
        assert not jsonschema.Draft202012Validator(SCHEMA).is_valid(broken)
