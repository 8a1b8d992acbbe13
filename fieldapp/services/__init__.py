"""The thin, Textual-free layer the screens call: turns form input into records.

Screens never touch the store or the network; they call these services, which ask the
clinical engine for every decision and save what happened to the store. Everything here
is testable without Textual.
"""
