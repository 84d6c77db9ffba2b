#!/usr/bin/env bash
# Builds the execution environment (ee/execution-environment.yml) where neither Galaxy nor a container registry is
# reachable (the lab, CI): the collection is built from this checkout, its dependencies are packed from the
# collections the pinned `ansible` package installed into .venv (the same versions ee/requirements.yml names), and
# ansible-galaxy installs them --offline; the base image is the local lab image. Elsewhere, build it as
# docs/awx.md says. Then a smoke test: the image's ansible-playbook runs a play that imports the collection's
# controller-side Python libraries and lists the collection.
#   scripts/build-ee.sh [tag]       (default cdc-pipeline-ee:<collection version>)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}
base=${CDC_EE_BASE_IMAGE:-localhost/cdc-lab-debian12:latest}
version=$("$venv/bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tag=${1:-localhost/cdc-pipeline-ee:$version}
work=$(mktemp -d /tmp/cdc-ee.XXXXXX)
trap 'rm -rf "$work"' EXIT

cp ee/execution-environment.yml "$work/"
mkdir -p "$work/collections"
"$venv/bin/ansible-galaxy" collection build --force --output-path "$work/collections" . >/dev/null
installed=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"] + "/ansible_collections")')
{
  echo "---"
  echo "collections:"
  echo "  - name: collections/cdc-pipeline-$version.tar.gz"
  echo "    type: file"
  # the dependencies, as ee/requirements.yml pins them, packed from the installed copies. The `ansible` package
  # leaves some files out (tests/), so FILES.json is written again for what is there, with each file's checksum,
  # and MANIFEST.json names that FILES.json's checksum: ansible-galaxy checks both on install.
  "$venv/bin/python" - "$installed" "$work/collections" <<'PY'
import hashlib, io, json, pathlib, sys, tarfile, yaml
installed, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])

def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tar.addfile(info, io.BytesIO(data))

# ee/requirements.yml's pins, then what they depend on in turn (Galaxy would resolve those; here the venv's copy)
wanted = {e["name"]: e["version"] for e in yaml.safe_load(open("ee/requirements.yml"))["collections"]}
queue, packed = [n for n in wanted if n != "cdc.pipeline"], set()
while queue:
    fqcn = queue.pop(0)
    if fqcn in packed:
        continue
    packed.add(fqcn)
    namespace, name = fqcn.split(".")
    source = installed / namespace / name
    if not source.is_dir():
        sys.exit(f"build-ee: {fqcn} is needed but not in the venv's ansible package")
    manifest = json.loads((source / "MANIFEST.json").read_text())
    found = manifest["collection_info"]["version"]
    if fqcn in wanted and found != wanted[fqcn]:
        sys.exit(f"build-ee: {fqcn} is {found} in the venv, ee/requirements.yml pins {wanted[fqcn]}")
    queue.extend(manifest["collection_info"].get("dependencies") or {})
    files = [{"name": ".", "ftype": "dir", "chksum_type": None, "chksum_sha256": None, "format": 1}]
    paths = sorted(p for p in source.rglob("*") if "__pycache__" not in p.parts and p.name not in ("MANIFEST.json", "FILES.json"))
    for path in paths:
        rel = str(path.relative_to(source))
        if path.is_dir():
            files.append({"name": rel, "ftype": "dir", "chksum_type": None, "chksum_sha256": None, "format": 1})
        else:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files.append({"name": rel, "ftype": "file", "chksum_type": "sha256", "chksum_sha256": digest, "format": 1})
    files_json = json.dumps({"files": files, "format": 1}, indent=4).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    tarball = out / f"{namespace}-{name}-{found}.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        add(tar, "MANIFEST.json", json.dumps(manifest, indent=4).encode())
        add(tar, "FILES.json", files_json)
        for path in paths:
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    print(f"  - name: collections/{tarball.name}\n    type: file")
PY
} > "$work/requirements.yml"
# the definition's galaxy requirements are read relative to it: ours, naming files, replaces Galaxy's
"$venv/bin/ansible-builder" create -f "$work/execution-environment.yml" -c "$work/context" >/dev/null
cp -r "$work/collections" "$work/context/_build/collections"
echo "build-ee: building $tag on $base"
# The machine's trust store is mounted over the image's for the build's RUN steps only (pip and apt then trust what
# this machine trusts, e.g. a proxy's CA); the image keeps its own.
ca_bundle=${CDC_EE_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
podman build --pull=never --build-arg EE_BASE_IMAGE="$base" \
  --volume "$ca_bundle:/etc/ssl/certs/ca-certificates.crt:ro" \
  --build-arg ANSIBLE_GALAXY_CLI_COLLECTION_OPTS=--offline -t "$tag" -f "$work/context/Containerfile" "$work/context"
podman run --rm "$tag" bash -c 'ansible-galaxy collection list cdc.pipeline && python3 -c "import hvac, cassandra, psycopg, confluent_kafka, cryptography; print(\"build-ee: runtime libraries import\")" && ansible-doc -t filter cdc.pipeline.awx_job_templates >/dev/null && echo "build-ee: ansible-doc reads the collection"'
echo "build-ee: $tag"
