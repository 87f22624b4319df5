#!/bin/sh
# The app role's password comes from the environment (PGPASSWORD, deploy/secrets.env), never from the image.
set -eu
umask 077
printf '"hookline_app" "%s"\n' "$PGPASSWORD" > /tmp/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
