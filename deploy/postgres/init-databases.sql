-- One database per service (the gateway, tracker and collab migrations keep their own Alembic
-- version tables, but separate databases also keep their table names from ever colliding).
-- Runs once, when the PostgreSQL volume is first initialised.
CREATE DATABASE gateway;
CREATE DATABASE tracker;
CREATE DATABASE collab;
CREATE DATABASE paid_ft;
CREATE DATABASE trainer;
