# Copyright: cdc.pipeline contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""containers.podman.podman with pipelining.

The upstream plugin disables pipelining because it runs ``podman exec`` without ``-i``, so the
module sent on stdin never reaches the container. Adding ``-i`` when there is input is all
pipelining needs; it saves the temporary directory, the copy and the clean-up of every task
(three ``podman exec`` calls, about a second per task on the lab's hosts).
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: podman_pipelined
short_description: Run tasks in podman containers, with pipelining
description:
  - The C(containers.podman.podman) connection with pipelining support. Everything else
    (options, file transfer through the mounted container file system) is the upstream plugin's.
  - Lab and test code, not part of the built collection (which would otherwise need containers.podman on every
    controller). The lab playbooks find it beside them, the repository's ansible.cfg and the Molecule scenarios
    through C(connection_plugins) / E(ANSIBLE_CONNECTION_PLUGINS). Production hosts use SSH.
author:
  - cdc.pipeline maintainers (!UNKNOWN)
options:
  remote_addr:
    description: Name or ID of the container.
    default: inventory_hostname
    vars:
      - name: ansible_host
      - name: inventory_hostname
      - name: ansible_podman_host
  remote_user:
    description: User (name or UID) that runs the commands in the container.
    ini:
      - section: defaults
        key: remote_user
    env:
      - name: ANSIBLE_REMOTE_USER
    vars:
      - name: ansible_user
  podman_extra_args:
    description: Extra arguments for the podman command line.
    default: ''
    ini:
      - section: defaults
        key: podman_extra_args
    vars:
      - name: ansible_podman_extra_args
    env:
      - name: ANSIBLE_PODMAN_EXTRA_ARGS
  podman_executable:
    description: The podman executable.
    default: podman
    vars:
      - name: ansible_podman_executable
    env:
      - name: ANSIBLE_PODMAN_EXECUTABLE
  pipelining:
    description: Send modules on the standard input of C(podman exec -i) instead of copying them.
    type: boolean
    default: true
    env:
      - name: ANSIBLE_PIPELINING
    vars:
      - name: ansible_pipelining
"""

from ansible_collections.containers.podman.plugins.connection.podman import (  # noqa: E402
    Connection as PodmanConnection,
)


class Connection(PodmanConnection):
    """Podman exec with stdin attached when the caller sends input."""

    transport = "podman_pipelined"
    has_pipelining = True

    def _podman(self, cmd, cmd_args=None, in_data=None, use_container_id=True):
        # The parent takes the container from ansible_host; the lab keeps each host's address there and
        # names its container in ansible_podman_host, which remote_addr resolves to when it is set.
        self._container_id = self.get_option("remote_addr")
        if in_data is not None and isinstance(cmd, list) and cmd and cmd[0] == "exec":
            cmd = ["exec", "-i"] + cmd[1:]
        return super()._podman(cmd, cmd_args, in_data, use_container_id)
