# Sourced by the ensure_*.sh set-up scripts: how they stop when something cannot be installed.
# Never fatal for a user (exit 0 with a note); under CI (CI=1/true/yes) it fails the job (exit 1),
# since the tests that need it would otherwise skip without anyone noticing.
# Set SKIP_NOTE (what skips without it) before calling give_up "the one line saying what to do".

case "${CI:-}" in
    1 | true | TRUE | True | yes | YES) IN_CI=1 ;;
    *) IN_CI=0 ;;
esac

give_up() {
    if [ "$IN_CI" = 1 ]; then
        echo "error: $1" >&2
        exit 1
    fi
    echo "note: $1 ($SKIP_NOTE)" >&2
    exit 0
}
