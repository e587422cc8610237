# Thin wrappers over tasks.py (which needs only python3).
.PHONY: demo test lint soak bench docs ci
demo:  ; python3 tasks.py demo
test:  ; python3 tasks.py test
lint:  ; python3 tasks.py lint
soak:  ; python3 tasks.py soak
bench: ; python3 tasks.py bench
docs:  ; python3 tasks.py docs
ci:    ; python3 tasks.py ci
