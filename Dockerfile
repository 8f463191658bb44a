# One image for every process: the web server (default command) and the Celery workers
# (override the command, see README "Production").
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt requirements-garaga.txt ./
RUN pip install --no-cache-dir -r requirements.txt
# garaga: Starknet calldata and the native pairing (docs/proofs.md); its declared dependencies conflict, hence --no-deps
RUN pip install --no-cache-dir --no-deps -r requirements-garaga.txt
COPY . .
RUN useradd --system --uid 10001 fossil && chown -R fossil /app
USER fossil
EXPOSE 3000
CMD ["gunicorn", "fossil.wsgi:application", "-b", "0.0.0.0:3000", "-w", "3", "--timeout", "60"]
