// `keyladder completion bash|zsh|fish`: a completion script printed from the
// command table (cli.ts's COMMANDS, options.ts's OPTIONS), never written by
// hand, so that a new command or option completes the day it is added.
// It completes commands and subcommands, each command's options, the values of
// options with fixed values (--mechanism PSK|MGK, device import's --format) and
// paths for options and arguments that name a file. Device identities, group
// names, kids and generations are never completed: listing them would unlock
// the store from a shell's Tab key.
//
// The three scripts share one shape: small data functions generated from the
// table (which words follow a command prefix, a command's options, what an
// option's value is, what a command's arguments are) and a driver, written per
// shell, that walks the words typed so far. bash's and zsh's data functions are
// the same POSIX `case` text.

import type { Command } from './command.js';
import { GLOBAL_OPTIONS, OPTIONS, type OptionName } from './options.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What a value or an argument completes to: a path, a folder, fixed words (`list`: comma-separated), or nothing. */
type Slot = { readonly kind: 'file' | 'dir' | 'free' } | { readonly kind: 'words' | 'list'; readonly words: readonly string[] };

/** The words the top level takes besides the commands' first words. */
const TOP_EXTRAS = ['help'];
/** `keyladder help` takes the commands' words, and this topic (concepts.ts). */
const HELP_EXTRAS = ['concepts'];

const SAFE_WORD = /^[A-Za-z0-9._-]+$/;
/** Every word is put in the scripts unquoted: refuse one that would need quoting rather than quote it three ways. */
const word = (w: string): string => {
  if (!SAFE_WORD.test(w)) throw new Error(`completion: "${w}" is not a plain word`);
  return w;
};

const optionSlot = (name: OptionName, command?: Command): Slot | undefined => {
  const spec: { type: string; choices?: readonly string[]; list?: true; path?: 'file' | 'dir' } = OPTIONS[name];
  if (spec.type === 'boolean') return undefined;
  const own = command?.choices?.[name];
  if (own) return { kind: 'words', words: own };
  if (spec.choices) return { kind: spec.list ? 'list' : 'words', words: spec.choices };
  return { kind: spec.path ?? 'free' };
};

/**
 * A command's positional arguments, read from its usage text: "FILE" or "FILE|-" are paths; lower-case
 * alternatives ("sig|enc", "[flag|refuse]", "[UNTIL|off]") are words; "ID", "NAME", "KID", "GEN" are
 * store contents and complete to nothing.
 */
export function argumentSlot(command: Command): Slot {
  const first = (command.params ?? '').split(' ')[0]!.replace(/^\[|\]$/g, '').replace(/\.\.\.$/, '');
  const alternatives = first.split('|').filter((a) => a !== '');
  if (alternatives.includes('FILE')) return { kind: 'file' };
  const words = alternatives.filter((a) => /^[a-z][a-z0-9-]*$/.test(a));
  return words.length ? { kind: 'words', words } : { kind: 'free' };
}

/** What the scripts are made of, from the table. */
export interface CompletionModel {
  /** The words that may follow a command prefix ('' for the first word, 'msl identity' for the third). */
  readonly next: ReadonlyMap<string, readonly string[]>;
  readonly commands: readonly {
    readonly name: string;
    /** Its options and the global ones, with their dashes. */
    readonly options: readonly string[];
    readonly maxArgs: number;
    readonly args: Slot;
    /** Its own values for an option, where they differ from the option's everywhere else. */
    readonly ownValues: ReadonlyMap<string, Slot>;
  }[];
  readonly globals: readonly string[];
  /** Every option that takes a value, and what that value is, by the option alone. */
  readonly values: ReadonlyMap<string, Slot>;
}

export function completionModel(commands: readonly Command[]): CompletionModel {
  const next = new Map<string, string[]>();
  const add = (prefix: string, w: string) => {
    const list = next.get(prefix) ?? [];
    if (!list.includes(w)) list.push(word(w));
    next.set(prefix, list);
  };
  for (const c of commands) {
    const words = c.name.split(' ');
    words.forEach((w, i) => add(words.slice(0, i).join(' '), w));
  }
  for (const w of TOP_EXTRAS) add('', w);
  const globals = GLOBAL_OPTIONS.map((o) => `--${word(o)}`);
  const values = new Map<string, Slot>();
  for (const name of Object.keys(OPTIONS) as OptionName[]) {
    const slot = optionSlot(name);
    if (slot) values.set(`--${word(name)}`, slot);
  }
  return {
    next,
    globals,
    values,
    commands: commands.map((c) => ({
      name: c.name,
      options: [...c.options.map((o) => `--${word(o)}`), ...globals],
      maxArgs: c.arity[1] === Infinity ? 999 : c.arity[1],
      args: argumentSlot(c),
      ownValues: new Map(Object.keys(c.choices ?? {}).map((o) => [`--${o}`, optionSlot(o as OptionName, c)!])),
    })),
  };
}

const slotText = (slot: Slot): string => ('words' in slot ? `${slot.kind} ${slot.words.map(word).join(' ')}` : slot.kind);

/** bash's and zsh's data functions: the same POSIX case statements. */
function posixData(m: CompletionModel): string {
  const q = (s: string) => `'${s}'`;
  const cases = (entries: readonly (readonly [string, string])[]) => entries.map(([k, v]) => `    ${q(k)}) echo ${q(v)} ;;`).join('\n');
  return [
    '# The words that may follow a command prefix.',
    '_keyladder_next() {',
    '  case "$1" in',
    cases([...m.next].map(([k, v]) => [k, v.join(' ')])),
    '  esac',
    '}',
    '# A command\'s options, the global ones included ("" when it is no command).',
    '_keyladder_options() {',
    '  case "$1" in',
    cases(m.commands.map((c) => [c.name, c.options.join(' ')])),
    '  esac',
    '}',
    '# How many arguments a command takes, and what they complete to.',
    '_keyladder_args() {',
    '  case "$1" in',
    cases(m.commands.map((c) => [c.name, `${c.maxArgs} ${slotText(c.args)}`])),
    '  esac',
    '}',
    '# What the value of option $2 of command $1 completes to; nothing when the option takes no value.',
    '_keyladder_value() {',
    '  case "$1 $2" in',
    cases(m.commands.flatMap((c) => [...c.ownValues].map(([o, slot]) => [`${c.name} ${o}`, slotText(slot)] as const))),
    '    *)',
    '      case "$2" in',
    [...m.values].map(([o, slot]) => `        ${q(o)}) echo ${q(slotText(slot))} ;;`).join('\n'),
    '      esac ;;',
    '  esac',
    '}',
    `_keyladder_globals() { echo ${q(`${m.globals.join(' ')} --version`)}; }`,
    `_keyladder_help_extras() { echo ${q(HELP_EXTRAS.join(' '))}; }`,
    '',
  ].join('\n');
}

function bashScript(m: CompletionModel): string {
  return `# bash completion for keyladder, printed by \`keyladder completion bash\` from its command table.
# Install: keyladder completion bash > ~/.local/share/bash-completion/completions/keyladder
${posixData(m)}
_keyladder_slot() {
  # One candidate a line: file names may hold spaces.
  local IFS=$'\\n' pre= w
  case "\${1%% *}" in
    file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    words) w=\${1#words }; COMPREPLY=($(compgen -W "\${w// /$'\\n'}" -- "$cur")) ;;
    list) [[ $cur == *,* ]] && pre=\${cur%,*},
      w=\${1#list }; COMPREPLY=($(compgen -P "$pre" -W "\${w// /$'\\n'}" -- "\${cur##*,}")) ;;
    *) COMPREPLY=() ;;
  esac
}

_keyladder() {
  local IFS=$' \\t\\n' cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmd= w i n skip=0 help=0 max kind
  local -a typed=() cmdwords
  COMPREPLY=()
  # --out=FILE reaches us as three words: --out, = and FILE.
  if [[ $cur == = ]]; then cur=; elif [[ $prev == = ]]; then prev=\${COMP_WORDS[COMP_CWORD-2]}; fi
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    if ((skip > 0)); then ((skip--)); continue; fi
    case $w in
      =) ;;
      -*) if [[ -n $(_keyladder_value "" "$w") ]]; then [[ \${COMP_WORDS[i+1]} == = ]] && skip=2 || skip=1; fi ;;
      *) typed+=("$w") ;;
    esac
  done
  if [[ \${typed[0]} == help ]]; then help=1; typed=("\${typed[@]:1}"); fi
  for n in 3 2 1; do
    ((\${#typed[@]} >= n)) || continue
    if [[ -n $(_keyladder_args "\${typed[*]:0:n}") ]]; then cmd=\${typed[*]:0:n}; break; fi
  done
  if ((help)); then
    [[ -n $cmd ]] && return 0
    COMPREPLY=($(compgen -W "$(_keyladder_next "\${typed[*]}") $( ((\${#typed[@]} == 0)) && _keyladder_help_extras)" -- "$cur"))
    return 0
  fi
  if [[ $prev == -* ]] && [[ -n $(_keyladder_value "" "$prev") ]]; then
    _keyladder_slot "$(_keyladder_value "$cmd" "$prev")"
    return 0
  fi
  if [[ $cur == -* ]]; then
    if [[ -n $cmd ]]; then COMPREPLY=($(compgen -W "$(_keyladder_options "$cmd")" -- "$cur"))
    else COMPREPLY=($(compgen -W "$(_keyladder_globals)" -- "$cur")); fi
    return 0
  fi
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W "$(_keyladder_next "\${typed[*]}")" -- "$cur"))
    return 0
  fi
  read -r max kind <<< "$(_keyladder_args "$cmd")"
  cmdwords=($cmd)
  if ((\${#typed[@]} - \${#cmdwords[@]} < max)); then _keyladder_slot "$kind"
  else COMPREPLY=($(compgen -W "$(_keyladder_options "$cmd")" -- "$cur")); fi
  return 0
}
complete -F _keyladder keyladder
`;
}

function zshScript(m: CompletionModel): string {
  return `#compdef keyladder
# zsh completion for keyladder, printed by \`keyladder completion zsh\` from its command table.
# Install: keyladder completion zsh > "\${fpath[1]}/_keyladder" (a folder on $fpath), then compinit.
${posixData(m)}
_keyladder_slot() {
  local pre=
  case "\${1%% *}" in
    file) _files ;;
    dir) _files -/ ;;
    words) compadd -- \${=\${1#words }} ;;
    list) [[ $cur == *,* ]] && pre=\${cur%,*},
      compadd -P "$pre" -- \${=\${1#list }} ;;
  esac
}

_keyladder() {
  emulate -L zsh
  local cur=\${words[CURRENT]} prev=\${words[CURRENT-1]} cmd= w i n skip=0 help=0 max kind
  local -a typed cmdwords
  for (( i = 2; i < CURRENT; i++ )); do
    w=\${words[i]}
    if (( skip )); then skip=0; continue; fi
    case $w in
      --*=*) ;;
      -*) [[ -n $(_keyladder_value "" "$w") ]] && skip=1 ;;
      *) typed+=("$w") ;;
    esac
  done
  if [[ \${typed[1]} == help ]]; then help=1; shift typed; fi
  for n in 3 2 1; do
    (( \${#typed} >= n )) || continue
    if [[ -n $(_keyladder_args "\${(j: :)typed[1,n]}") ]]; then cmd=\${(j: :)typed[1,n]}; break; fi
  done
  if (( help )); then
    [[ -n $cmd ]] && return 0
    compadd -- \${=$(_keyladder_next "\${(j: :)typed}")}
    (( \${#typed} == 0 )) && compadd -- \${=$(_keyladder_help_extras)}
    return 0
  fi
  if [[ $prev == -* && -n $(_keyladder_value "" "$prev") ]]; then
    _keyladder_slot "$(_keyladder_value "$cmd" "$prev")"
    return 0
  fi
  if [[ $cur == -* ]]; then
    if [[ -n $cmd ]]; then compadd -- \${=$(_keyladder_options "$cmd")}
    else compadd -- \${=$(_keyladder_globals)}; fi
    return 0
  fi
  if [[ -z $cmd ]]; then
    compadd -- \${=$(_keyladder_next "\${(j: :)typed}")}
    return 0
  fi
  read -r max kind <<< "$(_keyladder_args "$cmd")"
  cmdwords=(\${=cmd})
  if (( \${#typed} - \${#cmdwords} < max )); then _keyladder_slot "$kind"
  else compadd -- \${=$(_keyladder_options "$cmd")}; fi
  return 0
}

# Loaded through $fpath by compinit, the file is the function's body; sourced, it registers itself.
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _keyladder "$@"
else
  compdef _keyladder keyladder
fi
`;
}

function fishScript(m: CompletionModel): string {
  const fq = (s: string) => `'${s}'`;
  const sw = (entries: readonly (readonly [string, string])[], indent = '        ') =>
    entries.map(([k, v]) => `${indent}case ${fq(k)}\n${indent}    echo ${fq(v)}`).join('\n');
  return `# fish completion for keyladder, printed by \`keyladder completion fish\` from its command table.
# Install: keyladder completion fish > ~/.config/fish/completions/keyladder.fish
function __keyladder_next
    switch "$argv[1]"
${sw([...m.next].map(([k, v]) => [k, v.join(' ')]))}
    end
end
function __keyladder_options
    switch "$argv[1]"
${sw(m.commands.map((c) => [c.name, c.options.join(' ')]))}
    end
end
function __keyladder_args
    switch "$argv[1]"
${sw(m.commands.map((c) => [c.name, `${c.maxArgs} ${slotText(c.args)}`]))}
    end
end
function __keyladder_value
    switch "$argv[1] $argv[2]"
${sw(m.commands.flatMap((c) => [...c.ownValues].map(([o, slot]) => [`${c.name} ${o}`, slotText(slot)] as const)))}
        case '*'
            switch "$argv[2]"
${sw([...m.values].map(([o, slot]) => [o, slotText(slot)]), '                ')}
            end
    end
end

function __keyladder_slot --argument-names slot cur
    set -l parts (string split ' ' -- $slot)
    switch $parts[1]
        case file
            __fish_complete_path $cur
        case dir
            __fish_complete_directories $cur
        case words
            printf '%s\\n' $parts[2..-1]
        case list
            set -l pre (string match -r '^.*,' -- $cur)
            printf "$pre%s\\n" $parts[2..-1]
    end
end

function __keyladder_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -e tokens[1]
    set -l typed
    set -l skip 0
    for w in $tokens
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case '--*=*'
            case '-*'
                test -n "$(__keyladder_value '' $w)"; and set skip 1
            case '*'
                set -a typed $w
        end
    end
    set -l prev ''
    test (count $tokens) -gt 0; and set prev $tokens[-1]
    set -l help 0
    if test "$typed[1]" = help
        set help 1
        set -e typed[1]
    end
    set -l cmd ''
    for n in 3 2 1
        test (count $typed) -ge $n; or continue
        set -l name (string join ' ' -- $typed[1..$n])
        if test -n "$(__keyladder_args $name)"
            set cmd $name
            break
        end
    end
    if test $help -eq 1
        test -n "$cmd"; and return 0
        string split ' ' -- (__keyladder_next (string join ' ' -- $typed))
        test (count $typed) -eq 0; and string split ' ' -- ${fq(HELP_EXTRAS.join(' '))}
        return 0
    end
    if string match -q -- '-*' $prev; and test -n "$(__keyladder_value '' $prev)"
        __keyladder_slot (__keyladder_value "$cmd" $prev) $cur
        return 0
    end
    if string match -q -- '-*' $cur
        if test -n "$cmd"
            string split ' ' -- (__keyladder_options $cmd)
        else
            string split ' ' -- ${fq(`${m.globals.join(' ')} --version`)}
        end
        return 0
    end
    if test -z "$cmd"
        string split ' ' -- (__keyladder_next (string join ' ' -- $typed))
        return 0
    end
    set -l spec (string split -m 1 ' ' -- (__keyladder_args $cmd))
    set -l cmdwords (string split ' ' -- $cmd)
    if test (math (count $typed) - (count $cmdwords)) -lt $spec[1]
        __keyladder_slot $spec[2] $cur
    else
        string split ' ' -- (__keyladder_options $cmd)
    end
end

complete -c keyladder -e
complete -c keyladder -f -a '(__keyladder_complete)'
`;
}

export function completionScript(shell: Shell, commands: readonly Command[]): string {
  const model = completionModel(commands);
  return shell === 'bash' ? bashScript(model) : shell === 'zsh' ? zshScript(model) : fishScript(model);
}
