# The release policy.yaml pins (required-version), read from PIN_REV:
# %%pin_from%%
pinned="$(mktemp)"
if ! git show "${PIN_REV}:./policy.yaml" > "$pinned"; then
  echo "%%error%%no policy.yaml at ${PIN_REV}: run cam-gitops init and pin a release (required-version)"
  exit 1
fi
spec="$(python - "$pinned" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
found = re.search(r"""^required-version:[ \t]*(["']?)([^"'#\n]*?)\1[ \t]*(?:#.*)?$""", text, re.M)
print(found.group(2).replace(" ", "") if found else "")
PY
)"
case "$spec" in
  "")
    echo "%%error%%policy.yaml pins no release: add required-version: \"==X.Y.Z\" (cam-gitops init writes it)"
    exit 1 ;;
  *[!0-9A-Za-z.,\<\>=!~*+]*)
    echo "%%error%%required-version in policy.yaml is not a version specifier such as \"==0.3.1\""
    exit 1 ;;
esac
case "$CAM_GITOPS_SOURCE" in
  git+*)
    version="${spec#==}"
    case "$spec" in ==*) ;; *) version="" ;; esac
    case "$version" in
      ""|*[!0-9A-Za-z.+]*)
        echo "%%error%%installing from git needs an exact pin: required-version: \"==X.Y.Z\" (tag vX.Y.Z)"
        exit 1 ;;
    esac
    requirement="cam-gitops @ ${CAM_GITOPS_SOURCE}@v${version}" ;;
  *) requirement="${CAM_GITOPS_SOURCE}${spec}" ;;
esac
python -m pip install --disable-pip-version-check --quiet "$requirement"
cam-gitops --version
