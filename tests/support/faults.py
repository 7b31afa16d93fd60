"""Real faults for tests: PostgreSQL itself made to refuse what the code under test writes."""

# Every new mail refused, so an email route dies at once (a dead letter when its budget is 1).
REFUSE_MAIL = """
CREATE FUNCTION backend.refuse_mail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the outbox refuses mail (a test fault)'; END $$;
CREATE TRIGGER refuse_mail BEFORE INSERT ON backend.mail_deliveries
    FOR EACH ROW EXECUTE FUNCTION backend.refuse_mail();
"""
# The fault lifted: mail is accepted again.
ACCEPT_MAIL = "DROP TRIGGER refuse_mail ON backend.mail_deliveries"
