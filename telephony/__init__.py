"""How a call is placed: SIP (pjsua2), Asterisk (AMI) and a simulated carrier behind one interface."""
