#!/usr/bin/env python3
"""A stand-in for systemd-logind's sleep inhibitors, for tests on machines
without logind (containers, CI). It owns org.freedesktop.login1 on the bus it
is started on (a test's private D-Bus session) and answers the two calls that
matter here the way logind does:

- Inhibit(what, who, why, mode) -> h: a pipe's write end; the inhibitor lasts
  until every copy of that descriptor is closed.
- ListInhibitors() -> a(ssssuu): the inhibitors whose descriptor is still open.

It prints "ready" on stdout once the name is owned.
"""

import os
import select
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

BUS_NAME = "org.freedesktop.login1"
PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"


class Manager(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, PATH)
        self.bus = bus
        # (what, who, why, mode, uid, pid, read end of the pipe)
        self.inhibitors = []

    @dbus.service.method(MANAGER, in_signature="ssss", out_signature="h", sender_keyword="sender")
    def Inhibit(self, what, who, why, mode, sender=None):
        if mode not in ("block", "delay"):
            raise dbus.exceptions.DBusException(
                f"invalid mode {mode!r}", name="org.freedesktop.DBus.Error.InvalidArgs"
            )
        read_end, write_end = os.pipe()
        daemon = dbus.Interface(
            self.bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus"),
            "org.freedesktop.DBus",
        )
        uid = int(daemon.GetConnectionUnixUser(sender))
        pid = int(daemon.GetConnectionUnixProcessID(sender))
        self.inhibitors.append((what, who, why, mode, uid, pid, read_end))
        handed = dbus.types.UnixFd(write_end)  # dbus-python keeps its own copy
        os.close(write_end)
        return handed

    @dbus.service.method(MANAGER, in_signature="", out_signature="a(ssssuu)")
    def ListInhibitors(self):
        self.inhibitors = [i for i in self.inhibitors if self._held(i[6])]
        return dbus.Array(
            [dbus.Struct(i[:4] + (dbus.UInt32(i[4]), dbus.UInt32(i[5]))) for i in self.inhibitors],
            signature="(ssssuu)",
        )

    @staticmethod
    def _held(read_end):
        # The write end's last copy closed: the pipe reports hang-up.
        poll = select.poll()
        poll.register(read_end, select.POLLHUP)
        if poll.poll(0):
            os.close(read_end)
            return False
        return True


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    name = dbus.service.BusName(BUS_NAME, bus, do_not_queue=True)
    manager = Manager(bus)
    print("ready", flush=True)
    loop = GLib.MainLoop()
    # Ends with the test: stdin closes when the test drops its end.
    GLib.io_add_watch(sys.stdin, GLib.IO_HUP | GLib.IO_IN, lambda *_: loop.quit())
    loop.run()
    del name, manager


if __name__ == "__main__":
    main()
