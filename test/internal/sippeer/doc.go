// Package sippeer runs sipp (SIPp 3.6) scenarios from test/sipp against a
// gateway in end-to-end tests. Each run gets its own temporary directory
// holding a copy of the scenario and of the media fixtures it plays
// (test/fixtures/*.pcap), free local SIP and media ports, message and error
// traces, and a deadline. The process is killed when the test ends, and its
// screen, the SIP messages it sent and received and the unexpected messages
// it saw go into the test log when the test fails.
//
// sipp's play_pcap_audio sends through a raw socket, so scenarios that play
// audio need root or CAP_NET_RAW.
package sippeer
