#!/usr/bin/python
# -*- coding: utf-8 -*-
# SPDX-License-Identifier: BSD-2-Clause

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: brig_jail
short_description: Define, change, start, stop and destroy a brig jail
version_added: "0.1.0"
description:
  - Makes a FreeBSD jail managed by brig match a definition and a state.
  - A missing jail is created with C(brig create) from O(definition), from
    O(template) or from O(set) alone.
  - An existing jail's definition is replaced with C(brig edit), which is
    validated by brig before it is written; then C(brig apply) makes the
    running jail match it, live where FreeBSD allows.
  - Start, stop and restart look at C(brig list --json) first and act only
    when needed (V(restarted) always restarts).
extends_documentation_fragment:
  - brig.core.brig
author:
  - brig developers (!UNKNOWN)
options:
  name:
    description:
      - The jail's name.
    type: str
    required: true
  state:
    description:
      - V(present) defines the jail and leaves it running or not as it is.
      - V(started) and V(stopped) also start or stop it when needed.
        V(stopped) stops a running jail before anything of a changed
        definition is applied, so that it never restarts only to stop.
      - V(restarted) always restarts it (starts it when it is not running).
        A changed definition is applied live only where it can be, never
        with a restart of its own; the restart takes the rest.
      - V(absent) destroys it (C(brig destroy)); see O(force).
    type: str
    choices: [present, absent, started, stopped, restarted]
    default: present
  definition:
    description:
      - The whole definition of the jail, with the keys of C(brig.toml(5)).
      - A mapping is written to a C(.json) file, which brig reads as a
        definition.
      - A string is TOML text, for example from
        C(lookup('ansible.builtin.template', 'web.toml.j2')).
      - An empty mapping or string is refused rather than taken for a
        definition of brig's defaults.
      - Mutually exclusive with O(template).
    type: raw
  template:
    description:
      - A brig template to define the jail from, such as C(tenant) (see
        C(brig template list)); O(set) changes keys of it.
      - Mutually exclusive with O(definition).
    type: str
  set:
    description:
      - Keys to set, each passed as C(--set KEY=VALUE) after O(definition) or
        O(template); dotted keys such as C(limits.memoryuse) or
        C(network.ip4) reach into tables.
      - A string value is passed as written, which brig reads as TOML when it
        parses as TOML (C(200), C(true)) and as a string otherwise (C(1G)); a
        number, boolean, list or mapping is written as TOML.
      - Without O(definition) and O(template), an existing jail keeps the rest
        of its definition and only these keys change.
    type: dict
  release:
    description:
      - The release the jail is made from; the same as O(set) with
        C(release), and it wins over a C(release) in O(definition).
      - On an existing jail a new release changes only the release its
        definition names, not its userland; the module warns, and
        C(brig upgrade NAME --to RELEASE) upgrades the jail.
    type: str
  restart_on_change:
    description:
      - Restart the jail when a change of its definition cannot be made live
        (C(brig apply --restart)).
      - When false such a change waits for the next restart, and so do the
        live changes made with it, since brig applies all of a jail's changes
        or none; the module warns.
    type: bool
    default: false
  update_definition:
    description:
      - When false, O(definition), O(template), O(set) and O(release) are used
        only to create a missing jail; an existing jail's definition is left
        as it is.
      - Useful when another task or person owns part of it, for example
        M(brig.core.brig_limits) its limits - a definition from this module
        would otherwise put them back on every run.
    type: bool
    default: true
  force:
    description:
      - With O(state=absent), destroy a running jail too (C(brig destroy --force)).
    type: bool
    default: false
notes:
  - In check mode a missing jail is checked with C(brig create --dry-run)
    (its definition, release, name and addresses), an existing one's
    definition with C(brig edit --dry-run) and the running jail with
    C(brig plan).
  - In diff mode, a change that C(brig apply) makes on the running jail
    is shown too, even when the definition stays as it is - each parameter
    that needs a restart with its values before and after, then brig's
    operations, one a line.
attributes:
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
    support: full
seealso:
  - module: brig.core.brig_limits
  - module: brig.core.brig_info
'''

EXAMPLES = r'''
- name: A customer's jail from brig's tenant template, running
  brig.core.brig_jail:
    name: cust1
    template: tenant
    release: 14.3-RELEASE
    set:
      network.ip4: [192.0.2.21/24]
      limits.memoryuse: 4G
    state: started

- name: A jail from a TOML template of the playbook, restarted when a change needs it
  brig.core.brig_jail:
    name: web
    definition: "{{ lookup('ansible.builtin.template', 'web.toml.j2') }}"
    restart_on_change: true
    state: started

- name: A jail defined by a mapping
  brig.core.brig_jail:
    name: db
    definition:
      release: 14.3-RELEASE
      hostname: db.example.org
      network:
        ip4: [192.0.2.30/24]
      limits:
        memoryuse: 8G
    state: started

- name: Only the hostname of an existing jail
  brig.core.brig_jail:
    name: web
    set:
      hostname: www.example.org

- name: Gone, even while running
  brig.core.brig_jail:
    name: old
    state: absent
    force: true
'''

RETURN = r'''
jail:
  description:
    - The jail's row of C(brig list --json) afterwards (in check mode, as it
      is before); null when it is absent.
  returned: always
  type: dict
  sample:
    name: web
    state: running
    jid: 3
    ip: [192.0.2.10]
    release: 14.3-RELEASE
    type: thin
    boot: false
    managed: true
operations:
  description:
    - The operations C(brig create) made for a new jail, or C(brig apply) on
      the running jail.
    - In check mode, those C(brig create) would make for a new jail; for an
      existing one, those C(brig apply) would make when its definition stays
      as it is (a running jail that drifted from it), and none when the
      definition changes or the jail is to be stopped first - brig plans
      only the definition on disk, so the operations of one not yet written
      are not known.
  returned: always
  type: list
  elements: str
  sample: ["jail_set update web host.hostname=www.example.org"]
effect:
  description:
    - What C(brig edit) said of a change of the definition - V(unchanged),
      V(not-running), V(needs-restart), V(live) or V(matches).
  returned: when an existing jail's definition was compared
  type: str
  sample: live
restart:
  description:
    - The parameters whose change needs a restart of the running jail; while
      there are any and O(restart_on_change) is false, nothing is applied to
      it (brig applies all or nothing) and the module warns.
  returned: when an existing jail's definition was compared
  type: list
  elements: str
  sample: ["vnet"]
'''

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.brig.core.plugins.module_utils.brig import (
    Brig, brig_argument_spec, set_arguments, toml_literal)


def definition_arguments(module, brig):
    """The arguments of brig create and brig edit naming the definition.

    Each is one ``--option=VALUE`` word, so that a value starting with
    ``-`` is never read as a flag of brig's.
    """
    p = module.params
    args = []
    definition = p['definition']
    if isinstance(definition, (dict, str)) and not (definition.strip()
                                                    if isinstance(definition, str) else definition):
        # An empty template or a variable left empty by mistake would
        # otherwise replace the whole definition with brig's defaults.
        module.fail_json(msg='definition of jail %s is empty; give its keys, or leave '
                             'definition out to keep the definition it has' % p['name'])
    if isinstance(definition, dict):
        # brig reads a definition file whose name ends in .json as JSON,
        # which spares this module writing TOML for a whole definition.
        text = json.dumps(definition, indent=2) + '\n'
        args = ['--from=' + brig.temp_file(text, '%s.json' % p['name'])]
    elif isinstance(definition, str):
        text = definition if definition.endswith('\n') else definition + '\n'
        args = ['--from=' + brig.temp_file(text, '%s.toml' % p['name'])]
    elif definition is not None:
        module.fail_json(msg='definition must be a mapping or a string of TOML, not %s'
                         % type(definition).__name__)
    elif p['template']:
        args = ['--template=' + p['template']]

    try:
        args += set_arguments(p['set'])
    except ValueError as e:
        module.fail_json(msg='set: %s' % e)
    if p['release']:
        # Quoted, so that a release name is never read as another TOML
        # type; last, so that it wins over the definition and set.
        args += ['--set=release=%s' % toml_literal(p['release'])]
    return args


def apply_operations(doc, name):
    for jail in doc.get('jails') or []:
        if jail.get('name') == name:
            return list(jail.get('operations') or []), jail
    return [], None


def wanted_release(p):
    """The release the task names, where the module can read it."""
    if p['release']:
        return p['release']
    if isinstance(p['definition'], dict):
        return p['definition'].get('release')
    return None


def main():
    module = AnsibleModule(
        argument_spec=brig_argument_spec(
            name=dict(type='str', required=True),
            state=dict(type='str', default='present',
                       choices=['present', 'absent', 'started', 'stopped', 'restarted']),
            definition=dict(type='raw'),
            template=dict(type='str'),
            set=dict(type='dict'),
            release=dict(type='str'),
            restart_on_change=dict(type='bool', default=False),
            update_definition=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
        ),
        mutually_exclusive=[['definition', 'template']],
        supports_check_mode=True,
    )
    p = module.params
    name = p['name']
    state = p['state']
    check = module.check_mode
    dry_run = ['--dry-run'] if check else []
    brig = Brig(module)

    row = brig.jail(name)
    # A jail running without a definition of brig's is listed too; brig
    # cannot destroy or edit it, only say so when asked to create one.
    defined = row is not None and row.get('managed', True)
    running = row is not None and row.get('state') == 'running'
    result = dict(changed=False, operations=[])
    diffs = []
    # A failure after a change reports what was done so far: the same
    # list of diffs, filled as the module goes.
    if module._diff:
        brig.partial['diff'] = diffs

    if state == 'absent':
        if defined:
            if running and not p['force'] and check:
                # brig destroy refuses a running jail, so check mode must
                # fail as the real run will, in brig's words.
                module.fail_json(msg='jail %s is running (jid %s); stop it first, or pass '
                                     '--force to kill its processes and destroy it'
                                     % (name, row.get('jid')), jail=row)
            diffs.append(dict(before='jail %s (%s)\n' % (name, row_state(row, 'defined')),
                              after='', before_header=name, after_header=name))
            if not check:
                brig.run(['destroy'] + (['--force'] if p['force'] else []) + ['--', name],
                         parse_json=False)
                row = None
            result['changed'] = True
        result['jail'] = row if defined else None
        finish(module, result, diffs)

    wants_definition = (p['definition'] is not None or p['template'] or p['set']
                        or p['release'])
    created = False
    stopped_first = False
    if not defined:
        if not wants_definition:
            module.fail_json(msg='jail %s is not defined; give definition, template or set to create it'
                             % name)
        args = definition_arguments(module, brig)
        # brig checks everything in check mode too (definition, release,
        # addresses), and says the definition it writes or would write.
        made = brig.json('create', *(args + dry_run + ['--', name]))
        created = True
        result['changed'] = True
        result['operations'] = brig.partial['operations'] = made.get('operations') or []
        diffs.append(dict(before='', after=made.get('definition', ''),
                          before_header='%s (definition)' % name,
                          after_header='%s (definition)' % name))
        if not check:
            brig.did('jail %s was created' % name)
    elif wants_definition and p['update_definition']:
        args = definition_arguments(module, brig)
        edit = brig.json('edit', *(args + dry_run + ['--', name]))
        result['effect'] = edit.get('effect')
        if edit.get('changed'):
            result['changed'] = True
            diffs.append(dict(before=edit.get('before', ''), after=edit.get('after', ''),
                              before_header='%s (definition)' % name,
                              after_header='%s (definition)' % name))
            if not check:
                brig.did('the definition of jail %s was changed' % name)
            warn_release(module, brig, name, row, check)
        if state == 'stopped' and running:
            # Stopped first, so that no change restarts a jail about to
            # stop; brig reads the definition at the next start.
            act(module, brig, result, diffs, name, 'stop', 'running')
            stopped_first = True
            running = False
            if not check:
                row = brig.jail(name)
        apply_definition(module, brig, result, diffs, name, edit, check, running)

    # The jail as it is now: after a real create it is there, stopped; in
    # check mode a jail to be created counts as stopped.
    if created and not check:
        row = brig.jail(name)
    running = row is not None and row.get('state') == 'running'
    before = 'absent' if created else row_state(row, 'stopped')
    action = None
    if stopped_first:
        pass
    elif state == 'started' and not running:
        action = 'start'
    elif state == 'stopped' and running:
        action = 'stop'
    elif state == 'restarted':
        action = 'restart' if running else 'start'
    if action:
        act(module, brig, result, diffs, name, action, before)
        if not check:
            row = brig.jail(name)
    elif result['changed'] and not check:
        row = brig.jail(name)
    result['jail'] = row
    finish(module, result, diffs)


def apply_definition(module, brig, result, diffs, name, edit, check, running):
    """Make the jail match its definition with brig apply, as far as the
    task's state and restart_on_change allow."""
    p = module.params
    # The plan compares the definition on disk with the machine (after a
    # real edit, the new one). brig apply refuses a jail whose change needs
    # a restart it was not allowed, changing nothing there, so the plan
    # also says whether to run apply at all.
    plan = brig.json('plan', '--', name)
    operations, planned = apply_operations(plan, name)
    # plan and edit name each difference with from, to and why; in check
    # mode only edit knows those of the definition to come.
    restarts = list((planned or {}).get('restart') or [])
    if check:
        restarts += edit.get('restart') or []
    reasons = dict((r.get('param'), r) for r in restarts)
    waiting = sorted(reasons) if running else []
    result['restart'] = waiting
    # restarted: the restart after this reads the definition, so apply
    # makes only live changes and a change that waits for a restart is
    # left to it; a second restart here would be needless.
    restart = p['restart_on_change'] and p['state'] != 'restarted'
    applies = restart or not waiting
    if check:
        # Only a plan of the definition on disk is known before it is
        # written: its operations are returned when the definition stays
        # as it is (drift on the running jail), none when it changes.
        if edit.get('changed') or (not running and (planned or {}).get('state') == 'running'):
            # (or the jail is to be stopped first, when none apply)
            operations = []
        if applies:
            result['operations'] = operations
            if operations or waiting:
                result['changed'] = True
                drift_diff(diffs, name, operations, [reasons[k] for k in waiting])
    elif applies and (operations or waiting):
        args = ['apply'] + (['--restart'] if restart and waiting else []) + ['--', name]
        applied = brig.json(*args, undone='not changed live')
        result['operations'] = brig.partial['operations'] = apply_operations(applied, name)[0]
        if applied.get('changed'):
            result['changed'] = True
            brig.did('jail %s was %s' % (name, 'restarted to take its definition'
                                         if restart and waiting else 'changed live'))
            drift_diff(diffs, name, result['operations'], [reasons[k] for k in waiting])
    if not applies and p['state'] in ('present', 'started'):
        why = '; '.join('%s %s -> %s: %s' % (reasons[k].get('param'), reasons[k].get('from'),
                                             reasons[k].get('to'), reasons[k].get('why'))
                        for k in waiting)
        module.warn('jail %s must restart for its definition to take effect (%s); nothing '
                    'was applied to it; set restart_on_change or state=restarted'
                    % (name, why))


def drift_diff(diffs, name, operations, restarts):
    """A diff of what apply changes on the running jail: each parameter
    that needs a restart from and to, then apply's operations, one a line.

    A definition that did not change has no other diff, so without this
    --diff would say nothing of a jail changed back to its definition.
    """
    before = ''.join('%s = %s\n' % (r.get('param'), r.get('from')) for r in restarts)
    after = ''.join('%s = %s\n' % (r.get('param'), r.get('to')) for r in restarts)
    after += ''.join('%s\n' % op for op in operations)
    if before or after:
        diffs.append(dict(before=before, after=after,
                          before_header='%s (running jail)' % name,
                          after_header='%s (running jail, brig apply)' % name))


def warn_release(module, brig, name, row, check):
    """brig edit changes the release a jail names, not its userland."""
    was = (row or {}).get('release')
    now = wanted_release(module.params)
    if not check:
        now = (brig.jail(name) or {}).get('release') or now
    if was and now and was != now:
        module.warn('jail %s now names release %s, but its userland is still %s; '
                    '`brig upgrade %s --to %s` upgrades it' % (name, now, was, name, now))


def act(module, brig, result, diffs, name, action, before):
    """brig start, stop or restart, noted as a change."""
    if not module.check_mode:
        done = {'start': 'started', 'stop': 'stopped', 'restart': 'restarted'}[action]
        brig.run([action, '--', name], parse_json=False, undone='not ' + done)
        brig.did('jail %s was %s' % (name, done))
    result['changed'] = True
    after = {'start': 'running', 'stop': 'stopped', 'restart': 'running (restarted)'}[action]
    diffs.append(dict(before='state = %s\n' % before, after='state = %s\n' % after,
                      before_header='%s (state)' % name, after_header='%s (state)' % name))


def row_state(row, default):
    return (row or {}).get('state') or default


def finish(module, result, diffs):
    # Always a list (Ansible shows each part), so that a registered result
    # reads the same whether the definition, the state or both changed.
    if module._diff and diffs:
        result['diff'] = diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
