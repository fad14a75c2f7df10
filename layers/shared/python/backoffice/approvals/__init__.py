"""The approval step every workflow uses: e-mail links that are safe against scanners, single-use and audited."""
