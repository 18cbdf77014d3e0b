# bash completion for migkit(1): subcommands, their options, domain names
# (virsh list --all --name, quietly) and files where an option takes one.

_migkit_domains()
{
    local uri=${MIGKIT_COMPLETION_URI:-}
    command -v virsh >/dev/null 2>&1 || return 0
    if [[ -n $uri ]]; then
        virsh -q -c "$uri" list --all --name 2>/dev/null
    else
        virsh -q list --all --name 2>/dev/null
    fi
}

_migkit()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        _init_completion || return
    else
        COMPREPLY=()
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD-1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local commands="status migrate check evacuate swap-volume doctor plot config help"
    local drv_opts="--config --connect --bandwidth --max-downtime --completion-timeout
        --stall-timeout --postcopy --no-postcopy --auto-converge --no-auto-converge
        --copy-storage --no-copy-storage --tunnelled --parallel-connections --compress --compression
        --postcopy-bandwidth --dest-xml --keep-source --no-cleanup --no-preflight --no-upload
        --json --record --quiet --interval --help"
    # evacuate: one flight record and destination XML per guest, not per evacuation
    local evac_opts=${drv_opts/--dest-xml /}
    evac_opts=${evac_opts/--record /}

    # The subcommand: the first word after migkit that is not an option.
    local i cmd= nargs=0
    for ((i = 1; i < cword; i++)); do
        if [[ -z $cmd ]]; then
            [[ ${words[i]} != -* ]] && cmd=${words[i]}
            continue
        fi
        case ${words[i-1]} in
        -c|--config|--connect|--bandwidth|--max-downtime|--completion-timeout|\
        --stall-timeout|--copy-storage|--parallel-connections|--dest-xml|\
        --interval|--parallel|--compression|--postcopy-bandwidth|--record|-o|--output|\
        --format)
            continue ;;
        esac
        [[ ${words[i]} != -* ]] && ((nargs++))
    done

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--help --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return 0
    fi

    # Option arguments.
    case $prev in
    -c|--config|--dest-xml|--record|-o|--output)
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
        return 0 ;;
    --connect)
        COMPREPLY=($(compgen -W "qemu:///system qemu:///session" -- "$cur"))
        return 0 ;;
    --compression)
        COMPREPLY=($(compgen -W "none xbzrle mt zlib zstd" -- "$cur"))
        return 0 ;;
    --format)
        COMPREPLY=($(compgen -W "raw qcow2" -- "$cur"))
        return 0 ;;
    # durations: the configuration's units (a bare --max-downtime is ms)
    --max-downtime)
        COMPREPLY=($(compgen -W "300ms 500ms 1s 2s" -- "$cur"))
        return 0 ;;
    --completion-timeout|--stall-timeout)
        COMPREPLY=($(compgen -W "30s 1m 5m 10m 1h" -- "$cur"))
        return 0 ;;
    --interval)
        COMPREPLY=($(compgen -W "500ms 1s 5s 10s" -- "$cur"))
        return 0 ;;
    --bandwidth|--parallel-connections|--parallel|--copy-storage|--postcopy-bandwidth)
        return 0 ;;
    esac

    local opts=
    case $cmd in
    status) opts="--config --json --help" ;;
    migrate) opts=$drv_opts ;;
    check) opts="--config --connect --copy-storage --no-copy-storage --json --help" ;;
    evacuate) opts="--parallel $evac_opts" ;;
    swap-volume) opts="--config --connect --bandwidth --format --disconnect-old --json --quiet --help" ;;
    doctor) opts="--config --connect --dest --json --quiet --help" ;;
    plot) opts="--output --help" ;;
    config) opts="--config --help" ;;
    *) return 0 ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return 0
    fi

    # Positional arguments: a domain first (migrate, check, swap-volume),
    # then a destination host or a file.
    case $cmd in
    migrate|check)
        if ((nargs == 0)); then
            COMPREPLY=($(compgen -W "$(_migkit_domains)" -- "$cur"))
        elif ((nargs == 1)); then
            COMPREPLY=($(compgen -A hostname -- "$cur"))
        fi ;;
    evacuate)
        COMPREPLY=($(compgen -A hostname -- "$cur")) ;;
    config)
        if ((nargs == 0)); then
            COMPREPLY=($(compgen -W "check dump" -- "$cur"))
        elif ((nargs == 1)); then
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
        fi ;;
    plot)
        COMPREPLY=($(compgen -f -X '!*.json*' -- "$cur"))
        compopt -o filenames 2>/dev/null ;;
    swap-volume)
        if ((nargs == 0)); then
            COMPREPLY=($(compgen -W "$(_migkit_domains)" -- "$cur"))
        elif ((nargs == 2)); then
            COMPREPLY=($(compgen -f -- "$cur"))
            compopt -o filenames 2>/dev/null
        fi ;;
    esac
    return 0
}
complete -F _migkit migkit
