#!/usr/bin/env bash
# The repository's own checks, run by `make test` (ctest test_lint) and by
# hand from anywhere:
#   1. C style: clang-format --dry-run -Werror (the repository's .clang-format)
#      and no line of C longer than 100 columns;
#   2. docs: every path a Markdown file names in backquotes (`common/db.c`,
#      `deploy/local/`) exists, read from the file's folder or from the
#      repository's root; and no file refers to design notes that live
#      outside the repository;
#   3. the services table: every copy of services/services.tsv (the C
#      defaults, compose, Kubernetes, the login roles, the Dockerfile's
#      image stages) agrees with it (services.py);
#   4. the alerting rules (deploy/monitoring/alerts.yml) name only metrics
#      the code serves.
# Exits 1 and lists every finding when one fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

failed=0
fail() {
    printf '%s\n' "$*" >&2
    failed=1
}

# ------------------------------------------------------------- C style
mapfile -t c_files < <(git ls-files '*.c' '*.h')
if command -v clang-format >/dev/null 2>&1; then
    if ! clang-format --dry-run -Werror "${c_files[@]}" 2>/tmp/lint.$$; then
        fail "clang-format: these files are not formatted (run clang-format -i on them):"
        grep -o '^[^:]*:' /tmp/lint.$$ | sort -u | sed 's/:$//; s/^/  /' >&2
    fi
    rm -f /tmp/lint.$$
else
    fail "clang-format is not installed (deploy/local/lib.sh installs it with the test packages)"
fi
long=$(perl -CSD -ne 'print "$ARGV:$.: ", length($_) - 1, " columns\n" if length($_) > 101;
    close ARGV if eof' "${c_files[@]}")
[[ -z $long ]] || fail "lines longer than 100 columns:"$'\n'"$long"

# ------------------------------------------------------------- docs
# A path in backquotes is checked against the tracked files: one with a
# slash whose first part is tracked (read from the Markdown file's folder,
# else from the root) must exist whole; one whose first part is not tracked
# is a run-time path (`build/...`, `.bulwark/...`) and is left alone; a bare
# name of a source file (`db.c`, `0004_lists.sql`) must be some tracked
# file's name.
tracked=$(git ls-files | grep -v '/node_modules/')
known=$( {
    printf '%s\n' "$tracked"
    printf '%s\n' "$tracked" | sed -n 's|/[^/]*$||p' | awk -F/ '{ p = $1; print p; for (i = 2; i <= NF; i++) { p = p "/" $i; print p } }'
} | sort -u)
names=$(printf '%s\n' "$tracked" | sed 's|.*/||' | sort -u)
# Files the build generates (named in CMake), and protobuf's own.
generated=$(git grep -ohE '[A-Za-z0-9_.-]+\.(c|h)\b' -- '*CMakeLists.txt' | sort -u
    printf '%s\n' descriptor.proto)
exists() { grep -qxF -- "$1" <<<"$known"; }
mapfile -t md_files < <(printf '%s\n' "$tracked" | grep '\.md$')
for md in "${md_files[@]}"; do
    dir=$(dirname "$md")
    while IFS= read -r ref; do
        path=${ref%%:*} # `file.c:42` names a line
        path=${path%/}
        path=${path%/.h} # `csv.c/.h` names a pair
        if [[ $path == */* ]]; then
            first=${path%%/*}
            if [[ $dir != . ]] && exists "$dir/$first" && ! exists "$path"; then
                exists "$dir/$path" || git check-ignore -q "$dir/$path" ||
                    fail "$md: \`$ref\` does not exist (from $dir/)"
            elif exists "$first"; then
                exists "$path" || fail "$md: \`$ref\` does not exist"
            fi
        elif [[ $path =~ \.(c|h|sh|sql|proto|md)$ ]]; then
            grep -qxF -- "$path" <<<"$names" || grep -qxF -- "$path" <<<"$generated" ||
                fail "$md: no file is named \`$ref\`"
        fi
    done < <(grep -o '`[A-Za-z0-9_][A-Za-z0-9_./-]*`' "$md" | tr -d '`' |
        grep -E '(/|\.(c|h|md|sh|sql|proto|py|mjs|ts|json|yaml|yml|jq|lua|supp))$' |
        grep -Ev '^(\.\./|https?:|v1/)|^[0-9.]+$|XX|NNNN' | sort -u)
done

# Design notes the project was written from live outside the repository;
# its files copy the facts in instead of pointing there.
outside=$(git grep -nE '(\.\./shared/|ARCHITECTURE\.md|\bAPI\.md|STYLE\.md|PERFORMANCE\.md)' \
    -- . ':!tools/lint/lint.sh' || true)
[[ -z $outside ]] || fail "references to files outside the repository:"$'\n'"$outside"

# ------------------------------------------------------------- alert rules
# Every metric the alerting rules name is one the code serves: its name
# (without a histogram's _bucket, _sum or _count) is written in some C file.
for metric in $(grep -oE 'bulwark_[a-z0-9_]+' deploy/monitoring/alerts.yml | sort -u); do
    base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$metric")
    git grep -qF -- "\"$base" -- '*.c' ||
        fail "deploy/monitoring/alerts.yml: no process serves $metric"
done

# ------------------------------------------------------------- services table
python3 tools/lint/services.py || failed=1

if ((failed)); then
    exit 1
fi
echo "lint: C style, docs references, the alert rules and the services table are clean"
