"""Who to call and when: campaigns, lists, records, rules, calling hours, callbacks, retries."""
