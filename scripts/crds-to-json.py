#!/usr/bin/env python3
"""Derives the JSON the Rust tests read, so they need no YAML parser.

- translators/crds/traefik-crd-schemas.v3.7.9.json: the openAPIV3Schema of every kind in the
  copied Traefik CRD file (descriptions dropped; they are documentation only).
- testdata/traefik-crd/known-good.json: every object of testdata/traefik-crd/known-good/*.yaml
  (objects that a real API server and Traefik accept), in file order.

Re-run after replacing the CRD file or editing known-good/:  python3 scripts/crds-to-json.py
"""
import json
import pathlib
import sys

import yaml  # PyYAML (the e2e venv has it through awscli)

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "translators/crds/kubernetes-crd-definition-v1.v3.7.9.yml"
DST = ROOT / "translators/crds/traefik-crd-schemas.v3.7.9.json"
GOOD_DIR = ROOT / "testdata/traefik-crd/known-good"
GOOD = ROOT / "testdata/traefik-crd/known-good.json"


def strip(node):
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main():
    out = {}
    for doc in yaml.safe_load_all(SRC.read_text()):
        if not doc:
            continue
        spec = doc["spec"]
        for version in spec["versions"]:
            key = f'{spec["group"]}/{version["name"]}/{spec["names"]["kind"]}'
            out[key] = {
                "group": spec["group"],
                "version": version["name"],
                "kind": spec["names"]["kind"],
                "plural": spec["names"]["plural"],
                "scope": spec["scope"],
                "schema": strip(version["schema"]["openAPIV3Schema"]),
            }
    DST.write_text(json.dumps(out, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    print(f"{DST.relative_to(ROOT)}: {len(out)} kinds", file=sys.stderr)

    good = []
    for path in sorted(GOOD_DIR.glob("*.yaml")):
        good.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    GOOD.write_text(json.dumps(good, indent=1, ensure_ascii=False) + "\n")
    print(f"{GOOD.relative_to(ROOT)}: {len(good)} objects", file=sys.stderr)


if __name__ == "__main__":
    main()
