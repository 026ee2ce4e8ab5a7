"""Executing an opportunity as a saga: exposure accounting, compensation planning and the saga's steps."""
