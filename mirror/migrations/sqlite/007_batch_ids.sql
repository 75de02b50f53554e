-- Reserved for integer batch ids (issue 13); replaced by the change that makes them.
SELECT 1;
