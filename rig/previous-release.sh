#!/usr/bin/env bash
# The previous release of tyk-upgrade, built once into the cache, for test/tool-upgrade.test.ts: a worker of that
# release is stopped while an upgrade waits at a gate and one of this code takes over. The previous release is the
# newest v* tag below this commit (its own tag excluded when this commit is a release); its files come from
# `git archive`, so no work tree is checked out. Prints the folder on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$here/lib.sh"
cd "$root"
command -v git >/dev/null 2>&1 || die "git is needed to build the previous release"
head=$(git rev-parse HEAD)
tag=''
for t in $(git tag --merged HEAD --sort=-v:refname --list 'v*'); do
  [ "$(git rev-parse "$t^{commit}")" = "$head" ] && continue
  tag=$t
  break
done
[ -n "$tag" ] || die "no release tag (v*) below this commit; a clone without tags needs \`git fetch --tags\`"
commit=$(git rev-parse "$tag^{commit}")
cache=${TYK_UPGRADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tyk-upgrade}
dir=$cache/release-$tag-${commit:0:12}
if [ -f "$dir/.built" ]; then
  log "previous release $tag already built in $dir"
  echo "$dir"
  exit 0
fi
mkdir -p "$cache"
# Built beside its final place and renamed: a build cut short never looks finished.
tmp=$(mktemp -d "$cache/.release-$tag-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log "building the previous release $tag (${commit:0:12}) into $dir"
git archive "$commit" | tar -x -C "$tmp"
(cd "$tmp" && npm ci --no-audit --no-fund --loglevel=error && npx tsc -p .) >&2
touch "$tmp/.built"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "$dir"
