"""The node side of the axis: outbox (send), inbox (receive, verify, register), status feedback."""
