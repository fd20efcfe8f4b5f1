"""The configuration page Saleor Dashboard shows in an iframe (the manifest's ``appUrl``)."""
