"""Development PKI: two trust anchors, intermediates, agency-seal and officer certificates, live CRL, OCSP, TSA."""
