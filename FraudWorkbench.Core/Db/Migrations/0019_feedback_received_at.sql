-- "Labels received lately" per model (issue 17's label summary) reads feedback by when it arrived; without this index
-- every look at the panel, and every label batch it follows, would scan all the labels ever received.
CREATE INDEX prediction_feedback_received_at ON prediction_feedback (received_at);
