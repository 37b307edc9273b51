SELECT o_index, o_frame, o_seq, o_queued, o_state, o_message, o_hint FROM vb_message_post_batch($1::jsonb)
